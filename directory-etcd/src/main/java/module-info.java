/** A directory on etcd ({@code etcd://HOST:PORT[,HOST:PORT...]}), through jetcd. */
module dev.catena.directory.etcd {
    requires dev.catena.api;
    requires jetcd.core;
    requires jetcd.api;
    requires jetcd.common;
    requires io.grpc.stub;
    requires java.net.http;
    exports dev.catena.directory.etcd;
    provides dev.catena.api.directory.DirectoryProvider with dev.catena.directory.etcd.EtcdDirectoryProvider;
}
