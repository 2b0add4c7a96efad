package dev.natpunch.bench.load;

import org.HdrHistogram.Histogram;

/** What one generator thread (or, merged, a whole run) saw in the measured window. */
final class Counts {
    /** Latency from the intended send time to the answer, in nanoseconds; 1 ns to 60 s, 3 digits. */
    final Histogram latency = new Histogram(60_000_000_000L, 3);
    /** Requests whose intended send time fell in the measured window. */
    long sent;
    /** Of those, answered with a valid answer. */
    long answered;
    /** Of those, no answer within the timeout (or none by the end of the drain). */
    long lost;
    /** Of those, not even handed to the kernel: the client socket's send buffer was full. */
    long notSent;
    /** Answers that failed authentication or had an unexpected size or content. */
    long invalid;
    /** Lookup answers "peer not found" (every peer is registered, so there should be none). */
    long notFound;
    /** Handshake answers whose message 2 was checked cryptographically (a sample), and how many failed. */
    long verified;
    long verifyFailed;
    /** Handshake mode: sends skipped because a client had used up its pre-built initiations. */
    long poolExhausted;
    /** Answers that arrived after their request was given up as lost, or matched no request. */
    long late;

    void add(Counts o) {
        latency.add(o.latency);
        sent += o.sent;
        answered += o.answered;
        lost += o.lost;
        notSent += o.notSent;
        invalid += o.invalid;
        notFound += o.notFound;
        verified += o.verified;
        verifyFailed += o.verifyFailed;
        poolExhausted += o.poolExhausted;
        late += o.late;
    }
}
