package dev.natpunch.it.lab;

/** The lab could not be built or a lab command failed; a test cannot recover from either. */
public final class LabException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public LabException(String message) {
        super(message);
    }

    public LabException(String message, Throwable cause) {
        super(message, cause);
    }
}
