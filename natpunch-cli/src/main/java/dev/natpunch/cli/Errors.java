package dev.natpunch.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.IParameterExceptionHandler;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;

/**
 * Turns failures into one line on stderr that says what went wrong and what to do; a stack trace
 * only with {@code --verbose}.
 */
final class Errors implements IExecutionExceptionHandler, IParameterExceptionHandler {

    @Override
    public int handleExecutionException(Exception e, CommandLine cmd, ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        err.println(prefix(cmd) + "error: " + message(e));
        if (verbose(parsed)) {
            e.printStackTrace(err);
        }
        err.flush();
        return e instanceof UsageException ? CommandLine.ExitCode.USAGE : CommandLine.ExitCode.SOFTWARE;
    }

    @Override
    public int handleParseException(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        PrintWriter err = cmd.getErr();
        err.println(prefix(cmd) + "error: " + message(e) + " (try '" + cmd.getCommandSpec().qualifiedName()
                + " --help')");
        err.flush();
        return CommandLine.ExitCode.USAGE;
    }

    /** {@code --verbose} is inherited: {@code natpunch -v client} and {@code natpunch client -v} alike. */
    private static boolean verbose(ParseResult parsed) {
        for (ParseResult p = parsed; p != null; p = p.subcommand()) {
            if (p.hasMatchedOption("--verbose")) {
                return true;
            }
        }
        return false;
    }

    private static String prefix(CommandLine cmd) {
        return cmd.getCommandSpec().qualifiedName() + ": ";
    }

    /** The innermost message that says something, which is usually the most precise one. */
    static String message(Throwable e) {
        Throwable t = e;
        if (t instanceof ParameterException && t.getCause() instanceof CommandLine.TypeConversionException) {
            return t.getMessage();
        }
        String best = t.getMessage();
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
            if (t.getMessage() != null && best == null) {
                best = t.getMessage();
            }
        }
        return best != null ? best : e.getClass().getSimpleName();
    }

    /** A bad argument found only when the command runs (exit status 2, like a parse error). */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
