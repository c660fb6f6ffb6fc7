package dev.catena.core.server;

import dev.catena.core.Identity;
import dev.catena.transport.spi.Connection;
import dev.catena.transport.spi.Frame;
import org.junit.jupiter.api.Test;

import java.security.PublicKey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

/** KV shares and open rates count per client: a proven TLS key from any host, else a host from any port. */
class ClientOfTest {

    private static Connection from(String remote, PublicKey key) {
        return new Connection() {
            @Override
            public String remoteAddress() {
                return remote;
            }

            @Override
            public void send(Frame frame) {
            }

            @Override
            public boolean isOpen() {
                return true;
            }

            @Override
            public PublicKey peerKey() {
                return key;
            }

            @Override
            public void close() {
            }
        };
    }

    @Test
    void aProvenKeyIsOneClientFromAnyHostAndAnonymousClientsAreTheirHost() {
        PublicKey a = Identity.generate().publicKey();
        PublicKey b = Identity.generate().publicKey();
        assertEquals(SessionTable.clientOf(from("10.0.0.1:4000", a)), SessionTable.clientOf(from("10.0.0.2:5000", a)));
        assertNotEquals(SessionTable.clientOf(from("10.0.0.1:4000", a)), SessionTable.clientOf(from("10.0.0.1:4001", b)),
                "two identities on one host are two clients");
        assertEquals("10.0.0.1", SessionTable.clientOf(from("10.0.0.1:4000", null)));
        assertEquals(SessionTable.clientOf(from("10.0.0.1:4000", null)), SessionTable.clientOf(from("10.0.0.1:4999", null)));
        assertEquals("[::1]", SessionTable.clientOf(from("[::1]:7", null)));
    }
}
