package dev.natpunch.net;

import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Platform;

/** Whether tests that need root can run. */
final class Privileges {

    private Privileges() {}

    interface Uid extends Library {
        int geteuid();
    }

    static boolean isRoot() {
        return Platform.isLinux() && Native.load("c", Uid.class).geteuid() == 0;
    }
}
