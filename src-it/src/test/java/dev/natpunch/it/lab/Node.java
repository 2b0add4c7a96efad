package dev.natpunch.it.lab;

/** Something in the lab that owns a network namespace: a {@link Host} or a {@link Router}. */
public sealed interface Node permits Host, Router {

    /** The name given when the node was added, unique within its lab. */
    String name();

    /** The network namespace, as {@code ip netns} names it. */
    String namespace();
}
