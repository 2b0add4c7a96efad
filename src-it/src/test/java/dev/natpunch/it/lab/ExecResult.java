package dev.natpunch.it.lab;

/** The outcome of a command run to completion inside a lab namespace. */
public record ExecResult(int exitCode, String stdout, String stderr) {

    public boolean ok() {
        return exitCode == 0;
    }

    @Override
    public String toString() {
        return "exit " + exitCode + (stdout.isBlank() ? "" : ", stdout: " + stdout.strip())
                + (stderr.isBlank() ? "" : ", stderr: " + stderr.strip());
    }
}
