package dev.natpunch.client;

import dev.natpunch.net.Endpoints;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * What {@link NetCheck} learned about the NAT between this machine and a rendezvous server, in
 * RFC 4787 / RFC 5780 terms. Immutable.
 *
 * @param localPort the UDP port the probes left from
 * @param publicEndpoint where the server saw them come from
 * @param mapping how the NAT chooses the public address:port
 * @param filtering which outside senders the NAT lets through to a mapping
 * @param portPreserved whether the public port is the local port
 * @param notes what could not be measured, and why
 */
public record NatReport(int localPort, InetSocketAddress publicEndpoint, Mapping mapping, Filtering filtering,
                        boolean portPreserved, List<String> notes) {

    /** RFC 4787 mapping behaviour. */
    public enum Mapping {
        /** One public endpoint for every destination: hole punching works. */
        ENDPOINT_INDEPENDENT,
        /**
         * The same public endpoint toward another port of the same server; the server has no second
         * address, so endpoint-independent and address-dependent mapping cannot be told apart.
         */
        PORT_INDEPENDENT,
        /** A new public endpoint per destination address: symmetric. */
        ADDRESS_DEPENDENT,
        /** A new public endpoint per destination address and port: symmetric. */
        ADDRESS_AND_PORT_DEPENDENT
    }

    /** RFC 4787 filtering behaviour; {@link #UNKNOWN} when the server cannot test it. */
    public enum Filtering {
        ENDPOINT_INDEPENDENT,
        ADDRESS_DEPENDENT,
        ADDRESS_AND_PORT_DEPENDENT,
        UNKNOWN
    }

    public NatReport {
        Objects.requireNonNull(publicEndpoint, "publicEndpoint");
        Objects.requireNonNull(mapping, "mapping");
        Objects.requireNonNull(filtering, "filtering");
        notes = List.copyOf(notes);
    }

    /**
     * Whether the mapping is symmetric (depends on the destination): two such peers need a
     * relay, and one such peer needs the other side's NAT to filter endpoint-independently.
     */
    public boolean symmetric() {
        return mapping == Mapping.ADDRESS_DEPENDENT || mapping == Mapping.ADDRESS_AND_PORT_DEPENDENT;
    }

    /** The report in words, one fact per line. */
    public String describe() {
        StringBuilder s = new StringBuilder();
        s.append("Public endpoint: ").append(Endpoints.format(publicEndpoint))
                .append(" (local port ").append(localPort).append(")\n");
        s.append("Mapping: ").append(switch (mapping) {
            case ENDPOINT_INDEPENDENT -> "endpoint-independent: the same public endpoint for every destination; hole punching works";
            case PORT_INDEPENDENT -> "the same public endpoint toward another server port (endpoint-independent, or"
                    + " address-dependent: the server has no second address to tell); hole punching usually works";
            case ADDRESS_DEPENDENT -> "address-dependent (symmetric): a new public endpoint per destination address;"
                    + " direct paths need the other side to accept any sender, or a relay";
            case ADDRESS_AND_PORT_DEPENDENT -> "address-and-port-dependent (symmetric): a new public endpoint per"
                    + " destination; direct paths need the other side to accept any sender, or a relay";
        }).append('\n');
        s.append("Filtering: ").append(switch (filtering) {
            case ENDPOINT_INDEPENDENT -> "endpoint-independent: anyone may send to the mapping";
            case ADDRESS_DEPENDENT -> "address-dependent: only hosts this machine has sent to";
            case ADDRESS_AND_PORT_DEPENDENT -> "address-and-port-dependent: only the exact address:port this machine has sent to";
            case UNKNOWN -> "not measured";
        }).append('\n');
        s.append("Port preserved: ").append(portPreserved ? "yes" : "no").append('\n');
        for (String note : notes) {
            s.append("Note: ").append(note).append('\n');
        }
        return s.toString();
    }

    /** The report as one JSON object. */
    public String toJson() {
        StringBuilder s = new StringBuilder("{");
        s.append("\"localPort\":").append(localPort);
        s.append(",\"publicEndpoint\":\"").append(Endpoints.format(publicEndpoint)).append('"');
        s.append(",\"mapping\":\"").append(name(mapping)).append('"');
        s.append(",\"filtering\":\"").append(name(filtering)).append('"');
        s.append(",\"symmetric\":").append(symmetric());
        s.append(",\"portPreserved\":").append(portPreserved);
        s.append(",\"notes\":[");
        for (int i = 0; i < notes.size(); i++) {
            s.append(i == 0 ? "" : ",").append('"').append(notes.get(i).replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return s.append("]}").toString();
    }

    private static String name(Enum<?> e) {
        return e.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }
}
