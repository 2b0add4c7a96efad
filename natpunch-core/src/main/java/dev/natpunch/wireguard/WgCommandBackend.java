package dev.natpunch.wireguard;

import dev.natpunch.crypto.Key;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * The {@code wg} command, the last resort: {@code wg show <if> dump} to read and
 * {@code wg set <if> peer ...} to change. {@code wg set} creates a missing peer, so the peer's
 * presence is checked first to keep update-only semantics (a peer added between the check and
 * the set by someone else is the only window).
 */
final class WgCommandBackend implements WireguardControl {
    static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    private static final int MAX_OUTPUT_BYTES = 32 << 20;

    private final Path wg;
    private final Duration timeout;

    WgCommandBackend(Path wg) {
        this(wg, DEFAULT_TIMEOUT);
    }

    WgCommandBackend(Path wg, Duration timeout) {
        this.wg = wg;
        this.timeout = timeout;
    }

    @Override
    public Device device(String interfaceName) throws WireguardException {
        Interfaces.checkName(interfaceName);
        if (interfaceName.equals("all") || interfaceName.equals("interfaces")) {
            throw new IllegalArgumentException("'wg show " + interfaceName
                    + "' is a subcommand, not an interface; use the uapi or netlink backend for this name");
        }
        Result r = run(interfaceName, List.of("show", interfaceName, "dump"));
        return parseDump(interfaceName, r.stdout);
    }

    @Override
    public void updatePeer(String interfaceName, PeerUpdate update) throws WireguardException {
        updatePeers(interfaceName, List.of(update));
    }

    @Override
    public void updatePeers(String interfaceName, List<PeerUpdate> updates) throws WireguardException {
        if (updates.isEmpty()) {
            return;
        }
        Interfaces.requireConfigured(interfaceName, device(interfaceName), updates);
        run(interfaceName, setArguments(interfaceName, updates));
    }

    @Override
    public String backendName() {
        return "wg";
    }

    static List<String> setArguments(String interfaceName, List<PeerUpdate> updates) {
        List<String> args = new ArrayList<>(List.of("set", interfaceName));
        for (PeerUpdate update : updates) {
            args.add("peer");
            args.add(update.publicKey().toBase64());
            update.endpoint().ifPresent(e -> {
                args.add("endpoint");
                args.add(IpText.formatEndpoint(e));
            });
            update.persistentKeepaliveSeconds().ifPresent(k -> {
                args.add("persistent-keepalive");
                args.add(k == 0 ? "off" : Integer.toString(k));
            });
        }
        return args;
    }

    /**
     * Parses {@code wg show <if> dump}: a device line (private key, public key, listen port,
     * fwmark) then one line per peer (public key, preshared key, endpoint, allowed IPs, latest
     * handshake, rx, tx, persistent keepalive), tab-separated, "(none)" / "off" for absent values.
     */
    static Device parseDump(String interfaceName, String dump) throws WireguardException {
        String[] lines = dump.split("\n");
        if (lines.length == 0 || lines[0].isEmpty()) {
            throw unexpected(interfaceName, "empty output", null);
        }
        String[] dev = lines[0].split("\t", -1);
        if (dev.length != 4) {
            throw unexpected(interfaceName, "the device line has " + dev.length + " fields, not 4", null);
        }
        try {
            Key privateKey = optionalKey(dev[0]);
            Key publicKey = optionalKey(dev[1]);
            int listenPort = (int) number(dev[2], 65535);
            int fwmark = dev[3].equals("off") ? 0
                    : dev[3].startsWith("0x") ? (int) Long.parseLong(checkHex(dev[3].substring(2)), 16)
                    : (int) number(dev[3], 0xffffffffL);
            List<Peer> peers = new ArrayList<>();
            for (int i = 1; i < lines.length; i++) {
                String[] f = lines[i].split("\t", -1);
                if (f.length != 8) {
                    throw unexpected(interfaceName, "peer line " + i + " has " + f.length + " fields, not 8", null);
                }
                List<AllowedIp> allowed = new ArrayList<>();
                if (!f[3].equals("(none)")) {
                    for (String a : f[3].split(",")) {
                        allowed.add(AllowedIp.parse(a));
                    }
                }
                long handshake = number(f[4], Long.MAX_VALUE);
                peers.add(new Peer(Key.fromBase64(f[0]), f[2].equals("(none)") ? null : IpText.parseEndpoint(f[2]),
                        allowed, f[7].equals("off") ? 0 : (int) number(f[7], 65535),
                        handshake == 0 ? null : Instant.ofEpochSecond(handshake),
                        number(f[5], Long.MAX_VALUE), number(f[6], Long.MAX_VALUE)));
            }
            return new Device(interfaceName, publicKey, privateKey, listenPort, fwmark, peers);
        } catch (IllegalArgumentException e) {
            throw unexpected(interfaceName, e.getMessage(), e);
        }
    }

    private static Key optionalKey(String text) {
        return text.equals("(none)") ? null : Key.fromBase64(text);
    }

    private static String checkHex(String s) {
        if (s.isEmpty() || s.length() > 8 || !s.chars().allMatch(c -> Character.digit(c, 16) >= 0)) {
            throw new IllegalArgumentException("not a 32-bit hex number: '" + s + "'");
        }
        return s;
    }

    private static long number(String s, long max) {
        if (s.isEmpty() || s.length() > 19 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException("not a number: '" + s + "'");
        }
        long v = Long.parseLong(s);
        if (v > max) {
            throw new IllegalArgumentException(s + " is larger than " + max);
        }
        return v;
    }

    private static WireguardException unexpected(String interfaceName, String what, Throwable cause) {
        return new WireguardException(WireguardException.Kind.PROTOCOL,
                "unexpected output from 'wg show " + interfaceName + " dump': " + what, cause);
    }

    private static final class Result {
        final String stdout;

        Result(String stdout) {
            this.stdout = stdout;
        }
    }

    private Result run(String interfaceName, List<String> args) throws WireguardException {
        List<String> command = new ArrayList<>();
        command.add(wg.toString());
        command.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(command);
        // wg's messages come from strerror; the mapping below needs them untranslated.
        pb.environment().put("LC_ALL", "C");
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            throw new WireguardException(WireguardException.Kind.NO_BACKEND, "cannot run '" + wg + "': "
                    + e.getMessage() + "; " + Interfaces.INSTALL_HINT, e);
        }
        try {
            p.getOutputStream().close();
            Collector out = new Collector(p.getInputStream());
            Collector err = new Collector(p.getErrorStream());
            out.start();
            err.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly();
                throw new WireguardException(WireguardException.Kind.PROTOCOL,
                        "'" + String.join(" ", command) + "' did not finish within " + timeout.toMillis() + " ms");
            }
            out.join();
            err.join();
            if (out.overflow || err.overflow) {
                throw new WireguardException(WireguardException.Kind.PROTOCOL,
                        "'" + String.join(" ", command) + "' wrote more than " + MAX_OUTPUT_BYTES + " bytes");
            }
            String stderr = err.text().strip();
            if (p.exitValue() != 0) {
                throw mapFailure(interfaceName, command, p.exitValue(), stderr);
            }
            return new Result(out.text());
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new WireguardException(WireguardException.Kind.PROTOCOL,
                    "interrupted while running '" + String.join(" ", command) + "'; it was killed");
        } catch (IOException e) {
            if (e instanceof WireguardException) {
                throw (WireguardException) e;
            }
            throw new WireguardException(WireguardException.Kind.PROTOCOL, "running wg failed: " + e.getMessage(), e);
        }
    }

    static WireguardException mapFailure(String interfaceName, List<String> command, int exit, String stderr) {
        String s = stderr.toLowerCase(Locale.ROOT);
        String said = "'" + String.join(" ", command) + "' failed (exit " + exit + "): " + stderr;
        if (s.contains("operation not permitted") || s.contains("permission denied")) {
            return new WireguardException(WireguardException.Kind.PERMISSION_DENIED,
                    said + "; " + Interfaces.PRIVILEGE_HINT);
        }
        if (s.contains("no such device")) {
            return new WireguardException(WireguardException.Kind.NO_SUCH_INTERFACE,
                    said + "; there is no WireGuard interface '" + interfaceName + "', check the name");
        }
        if (s.contains("protocol not supported")) {
            // wg found no userspace socket and the kernel has no wireguard family.
            WireguardException base = Interfaces.notFoundWithoutKernel(interfaceName,
                    WireguardControl.DEFAULT_SOCKET_DIRECTORIES);
            return new WireguardException(base.kind(), base.getMessage() + " (" + said + ")");
        }
        if (s.contains("operation not supported")) {
            return new WireguardException(WireguardException.Kind.NOT_WIREGUARD,
                    said + "; '" + interfaceName + "' exists but is not a WireGuard interface");
        }
        return new WireguardException(WireguardException.Kind.PROTOCOL, said);
    }

    /** Drains a stream so the child cannot block on a full pipe, keeping at most MAX_OUTPUT_BYTES. */
    private static final class Collector extends Thread {
        private final InputStream in;
        private final ByteArrayOutputStream buf = new ByteArrayOutputStream();
        volatile boolean overflow;

        Collector(InputStream in) {
            this.in = in;
            setDaemon(true);
            setName("wg-output");
        }

        @Override
        public void run() {
            byte[] chunk = new byte[8192];
            try (in) {
                int n;
                while ((n = in.read(chunk)) >= 0) {
                    if (buf.size() + n > MAX_OUTPUT_BYTES) {
                        overflow = true;
                    } else {
                        buf.write(chunk, 0, n);
                    }
                }
            } catch (IOException e) {
                // The process ended; what was read so far is all there is.
            }
        }

        String text() {
            return buf.toString(StandardCharsets.UTF_8);
        }
    }
}
