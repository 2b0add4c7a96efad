package dev.natpunch.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * bin/natpunch as installed (the script with natpunch.jar beside it, copied into a temporary
 * directory): its class-data archive is made on first use, in the background, into the cache
 * directory, and neither making nor using it nor meeting a stale or unsafe one ever changes what
 * a command prints or its exit status.
 */
class LauncherIT {
    private static final Duration ARCHIVE_WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    private Path launcher;
    private Path jar;
    private Path cache;

    @BeforeEach
    void install() throws IOException {
        Path bin = Files.createDirectory(dir.resolve("bin"));
        launcher = Files.copy(Path.of("..", "bin", "natpunch"), bin.resolve("natpunch"));
        jar = Files.copy(Path.of(System.getProperty("natpunch.cli.jar", "../natpunch-cli/target/natpunch.jar")),
                bin.resolve("natpunch.jar"));
        cache = dir.resolve("cache");
    }

    private record Run(int exit, String out, String err) {
    }

    private Run run(Map<String, String> env, String... args) throws Exception {
        List<String> cmd = Stream.concat(Stream.of(launcher.toString()), Stream.of(args)).toList();
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("NATPUNCH_JAVA_OPTS");
        pb.environment().put("NATPUNCH_CACHE_DIR", cache.toString());
        pb.environment().putAll(env);
        Process p = pb.start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "still running: " + cmd);
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    private Run run(String... args) throws Exception {
        return run(Map.of(), args);
    }

    /** Runs genkey and checks that it printed a key and nothing else. */
    private void genkeyPrintsOnlyAKey() throws Exception {
        Run r = run("genkey");
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.err());
        assertTrue(r.out().matches("[A-Za-z0-9+/]{43}=\n"), r.out());
    }

    /** The archives in the cache once no training runs any more. */
    private List<Path> archivesWhenSettled() throws Exception {
        long deadline = System.nanoTime() + ARCHIVE_WAIT.toNanos();
        while (Files.exists(cache.resolve("training.lock"))) {
            if (System.nanoTime() > deadline) {
                fail("the training still runs after " + ARCHIVE_WAIT);
            }
            Thread.sleep(100);
        }
        if (!Files.isDirectory(cache)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(cache)) {
            List<Path> all = files.toList();
            assertTrue(all.stream().allMatch(f -> f.getFileName().toString().matches("client-\\d+\\.jsa")),
                    "left behind: " + all);
            return all;
        }
    }

    @Test
    void theFirstStartMakesTheArchiveAndLaterStartsUseItQuietly() throws Exception {
        genkeyPrintsOnlyAKey();
        List<Path> archives = archivesWhenSettled();
        assertEquals(1, archives.size(), "one archive after the first start: " + archives);
        assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(cache)));
        genkeyPrintsOnlyAKey();
        Run version = run("--version");
        assertEquals(0, version.exit());
        assertEquals("", version.err());
        assertTrue(version.out().startsWith("natpunch "), version.out());
        assertEquals(archives, archivesWhenSettled(), "nothing made again");
    }

    @Test
    void aNewJarGetsANewArchiveAndTheOldOneIsNeverUsedLoudly() throws Exception {
        genkeyPrintsOnlyAKey();
        Path first = archivesWhenSettled().get(0);
        // Another build of the same size and minute: only the file time tells it apart.
        Files.copy(jar, dir.resolve("rebuilt.jar"));
        Files.move(dir.resolve("rebuilt.jar"), jar, StandardCopyOption.REPLACE_EXISTING);
        Files.setLastModifiedTime(jar, FileTime.fromMillis(Files.getLastModifiedTime(first).toMillis() + 1000));
        genkeyPrintsOnlyAKey();
        // Named after the jar's size and time to the minute: the same name when the minute did not
        // change, else a second one (the first goes after 30 days).
        List<Path> after = archivesWhenSettled();
        assertTrue(after.size() <= 2, after.toString());
        FileTime built = Files.getLastModifiedTime(jar);
        assertTrue(after.stream().anyMatch(a -> {
            try {
                return Files.getLastModifiedTime(a).compareTo(built) >= 0;
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }), "the archive was made again for the new jar: " + after);
        genkeyPrintsOnlyAKey();
    }

    @Test
    void aCacheDirectoryOthersCanWriteToGetsNoArchive() throws Exception {
        Files.createDirectory(cache);
        Files.setPosixFilePermissions(cache, PosixFilePermissions.fromString("rwxrwxrwx"));
        genkeyPrintsOnlyAKey();
        Thread.sleep(3000);
        assertEquals(List.of(), archivesWhenSettled());
    }

    @Test
    void anEmptyCacheSettingMeansNoArchive() throws Exception {
        Run r = run(Map.of("NATPUNCH_CACHE_DIR", ""), "genkey");
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.err());
        Thread.sleep(3000);
        assertTrue(!Files.exists(cache), "made " + cache);
    }
}
