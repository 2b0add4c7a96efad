package dev.natpunch.crypto;

/**
 * The two cipher states a completed {@link NoiseHandshake} yields: {@link #sender()} encrypts what
 * this side sends, {@link #receiver()} decrypts what it receives. For the rendezvous protocol the
 * client (initiator) sends with Split()'s first key and the server (responder) with the second.
 */
public final class TransportKeys {
    private final CipherState sender;
    private final CipherState receiver;

    TransportKeys(CipherState sender, CipherState receiver) {
        this.sender = sender;
        this.receiver = receiver;
    }

    /** Encrypts messages this side sends. */
    public CipherState sender() {
        return sender;
    }

    /** Decrypts messages this side receives. */
    public CipherState receiver() {
        return receiver;
    }

    /** Zeroes both keys. */
    public void destroy() {
        sender.destroy();
        receiver.destroy();
    }

    @Override
    public String toString() {
        return "TransportKeys[sender, receiver]";
    }
}
