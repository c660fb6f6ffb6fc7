package dev.catena.directory.etcd;

import java.net.URI;
import java.util.ArrayList;
import java.util.List;

/** The client endpoints of an {@code etcd://HOST:PORT[,HOST:PORT...]} URI. */
record EtcdEndpoints(List<String> hostPorts) {

    static EtcdEndpoints parse(URI uri) {
        if (!"etcd".equalsIgnoreCase(uri.getScheme())) {
            throw new IllegalArgumentException("not an etcd URI: '" + uri + "'");
        }
        String authority = uri.getRawAuthority();
        if (authority == null || authority.isEmpty()) {
            throw new IllegalArgumentException("etcd directory '" + uri + "' names no endpoint: use etcd://HOST:PORT[,HOST:PORT...]");
        }
        if (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/")) {
            throw new IllegalArgumentException("etcd directory '" + uri + "' has a path; use etcd://HOST:PORT[,HOST:PORT...]");
        }
        List<String> out = new ArrayList<>();
        for (String hp : authority.split(",")) {
            int colon = hp.lastIndexOf(':');
            int port;
            try {
                port = colon <= 0 ? -1 : Integer.parseInt(hp.substring(colon + 1));
            } catch (NumberFormatException e) {
                port = -1;
            }
            if (port < 1 || port > 65535) {
                throw new IllegalArgumentException("etcd endpoint '" + hp + "' in '" + uri + "' is not HOST:PORT");
            }
            out.add(hp);
        }
        return new EtcdEndpoints(List.copyOf(out));
    }

    /** As the etcd client takes them: {@code http://HOST:PORT}. */
    String[] urls() {
        return hostPorts.stream().map(hp -> "http://" + hp).toArray(String[]::new);
    }

    @Override
    public String toString() {
        return "etcd://" + String.join(",", hostPorts);
    }
}
