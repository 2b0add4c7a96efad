package dev.natpunch.wireguard;

/**
 * Reads one interface through the UAPI backend and prints "OK" or the error kind; run by
 * {@link RealWireguardGoTest} in a child JVM as an unprivileged user.
 */
final class UapiProbe {
    private UapiProbe() {}

    public static void main(String[] args) {
        try {
            WireguardControl.uapi().device(args[0]);
            System.out.println("OK");
        } catch (WireguardException e) {
            System.out.println(e.kind() + " " + e.getMessage());
        }
    }
}
