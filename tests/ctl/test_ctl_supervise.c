/*
 * Unit tests of process supervision (src/ctl/supervise.c): pid files, liveness, the spawn
 * with its key pipe and closed descriptors, swtpm's CMD_SHUTDOWN and QMP against small
 * scripted servers, every refusal.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctl/supervise.h"
#include "testdir.h"

static void pid_parser_accepts_only_plain_pids(void **state)
{
    (void)state;
    pid_t p = 0;
    assert_int_equal(sup_parse_pid("1234\n", 5, &p), 0);
    assert_int_equal(p, 1234);
    assert_int_equal(sup_parse_pid("77", 2, &p), 0);
    assert_int_equal(p, 77);
    const char *bad[] = {"", "\n", "0", "1", "-5", "12a", " 12", "12 ", "12\n\n", "0x10",
                         "99999999999", "2147483648", "12345678901"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(sup_parse_pid(bad[i], strlen(bad[i]), &p), -EINVAL);
    }
    assert_int_equal(sup_parse_pid("2147483647", 10, &p), 0);
}

static void pid_files(void **state)
{
    (void)state;
    char dir[256], path[300];
    pid_t p;
    char big[64];
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/x.pid", dir);
    assert_int_equal(sup_read_pid(path, &p), -ENOENT);
    test_write_file(path, "4321\n", 5, 0600);
    assert_int_equal(sup_read_pid(path, &p), 0);
    assert_int_equal(p, 4321);
    memset(big, '1', sizeof(big));
    test_write_file(path, big, sizeof(big), 0600);
    assert_int_equal(sup_read_pid(path, &p), -EINVAL);
    test_rmtree(dir);
}

static void liveness_needs_the_marker_and_no_zombie(void **state)
{
    (void)state;
    pid_t child;
    assert_true(sup_alive(getpid(), "test_ctl_supervise"));
    assert_false(sup_alive(getpid(), "/some/other/vm/dir"));
    assert_false(sup_alive(1, "init"));
    child = fork();
    if (child == 0) {
        _exit(0);
    }
    usleep(100000); /* the child is now a zombie: not reaped yet */
    assert_false(sup_alive(child, ""));
    waitpid(child, NULL, 0);
    assert_false(sup_alive(child, ""));
}

static void spawn_hands_the_key_on_its_fd_and_closes_the_rest(void **state)
{
    (void)state;
    char dir[256], out[300], keyf[300], script[1024];
    uint8_t key[32], back[64];
    struct ctl_err e = {0};
    /* A descriptor without O_CLOEXEC, above the key's: it must not reach the child. */
    int leak = fcntl(open("/dev/null", O_RDONLY), F_DUPFD, 20);
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)(0xC0 + i);
    }
    test_mkdtemp(dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    snprintf(keyf, sizeof(keyf), "%s/key", dir);
    snprintf(script, sizeof(script),
             "cat <&3 > %s; if [ -e /proc/$$/fd/%d ]; then echo leaked; fi; echo done", keyf,
             leak);
    char *argv[] = {"/bin/sh", "-c", script, NULL};
    struct launch_cmd cmd = {.argc = 3, .key_fd = 3};
    memcpy(cmd.argv, argv, sizeof(argv));
    assert_int_equal(sup_spawn(&cmd, key, sizeof(key), out, 5000, &e), 0);
    assert_int_equal(test_read_file(keyf, back, sizeof(back)), 32);
    assert_memory_equal(back, key, 32);
    char text[256] = "";
    test_read_file(out, text, sizeof(text) - 1);
    assert_string_equal(text, "done\n");
    close(leak);
    test_rmtree(dir);
}

static void spawn_failures_say_why(void **state)
{
    (void)state;
    char dir[256], out[300];
    struct ctl_err e = {0};
    test_mkdtemp(dir);
    snprintf(out, sizeof(out), "%s/out", dir);
    struct launch_cmd missing = {.argv = {"/nonexistent/vtpmd", NULL}, .argc = 1, .key_fd = -1};
    assert_int_equal(sup_spawn(&missing, NULL, 0, out, 5000, &e), -1);
    assert_int_equal(e.kind, CTL_E_LAUNCH);
    assert_non_null(strstr(e.details, "exit status 127"));
    assert_non_null(strstr(e.details, "cannot run /nonexistent/vtpmd"));

    ctl_err_clear(&e);
    struct launch_cmd fails = {.argv = {"/bin/sh", "-c", "echo first; echo 'the reason'; exit 3",
                                        NULL},
                               .argc = 3, .key_fd = -1};
    assert_int_equal(sup_spawn(&fails, NULL, 0, out, 5000, &e), -1);
    assert_non_null(strstr(e.details, "exit status 3"));
    assert_non_null(strstr(e.details, "the reason"));

    ctl_err_clear(&e);
    struct launch_cmd hangs = {.argv = {"/bin/sleep", "30", NULL}, .argc = 2, .key_fd = -1};
    assert_int_equal(sup_spawn(&hangs, NULL, 0, out, 200, &e), -1);
    assert_non_null(strstr(e.details, "did not go to the background"));
    test_rmtree(dir);
}

/* A scripted unix server: accepts one client and plays one of these parts. */
enum part {
    CTRL_OK,      /* read CMD_SHUTDOWN, answer 0 */
    CTRL_REFUSE,  /* read it, answer 0x0a */
    CTRL_SILENT,  /* read it, answer nothing */
    QMP_OK,       /* greeting, capabilities, an event, then the command's return */
    QMP_ERROR,    /* the command gets an "error" */
    QMP_NO_GREET, /* a greeting that is not QMP's */
    QMP_HUGE,     /* a greeting line longer than the reader's bound */
};

struct server {
    char path[300];
    int fd;
    enum part part;
    char got[256]; /* what the client sent (QMP: the last command line) */
    uint32_t code;
};

static ssize_t read_line(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    while (n + 1 < cap && read(fd, buf + n, 1) == 1) {
        if (buf[n++] == '\n') {
            break;
        }
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

static void *serve(void *arg)
{
    struct server *s = arg;
    int c = accept(s->fd, NULL, NULL);
    uint8_t b[4];
    char line[256];
    if (c < 0) {
        return NULL;
    }
    switch (s->part) {
    case CTRL_OK:
    case CTRL_REFUSE:
    case CTRL_SILENT:
        if (read(c, b, 4) == 4) {
            s->code = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        }
        if (s->part != CTRL_SILENT) {
            uint8_t r[4] = {0, 0, 0, s->part == CTRL_OK ? 0 : 0x0a};
            (void)!write(c, r, 4);
        } else {
            usleep(500000);
        }
        break;
    case QMP_NO_GREET:
        (void)!write(c, "{\"hello\": 1}\n", 13);
        usleep(200000);
        break;
    case QMP_HUGE: {
        char *big = malloc(70000);
        memset(big, 'x', 70000);
        (void)!write(c, big, 70000);
        free(big);
        usleep(200000);
        break;
    }
    default:
        (void)!write(c, "{\"QMP\": {}}\r\n", 13);
        read_line(c, line, sizeof(line));
        (void)!write(c, "{\"return\": {}}\r\n", 16);
        read_line(c, s->got, sizeof(s->got));
        (void)!write(c, "{\"event\": \"X\", \"return\": 1}\r\n", 29);
        if (s->part == QMP_OK) {
            (void)!write(c, "{\"return\": {}}\r\n", 16);
        } else {
            (void)!write(c, "{\"error\": {\"class\": \"GenericError\"}}\r\n", 38);
        }
    }
    close(c);
    return NULL;
}

static void start_server(struct server *s, const char *dir, enum part part, pthread_t *t)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(s->path, sizeof(s->path), "%s/s.sock", dir);
    unlink(s->path);
    assert_true(strlen(s->path) < sizeof(sa.sun_path));
    memcpy(sa.sun_path, s->path, strlen(s->path) + 1);
    s->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(s->fd, 1), 0);
    s->part = part;
    s->got[0] = '\0';
    s->code = 0;
    pthread_create(t, NULL, serve, s);
}

static void stop_server(struct server *s, pthread_t t)
{
    pthread_join(t, NULL);
    close(s->fd);
}

static void ctrl_shutdown(void **state)
{
    (void)state;
    char dir[256];
    struct server s;
    pthread_t t;
    test_mkdtemp(dir);
    start_server(&s, dir, CTRL_OK, &t);
    assert_int_equal(sup_ctrl_shutdown(s.path, 2000), 0);
    stop_server(&s, t);
    assert_int_equal(s.code, 3); /* CMD_SHUTDOWN, big-endian */
    start_server(&s, dir, CTRL_REFUSE, &t);
    assert_int_equal(sup_ctrl_shutdown(s.path, 2000), -EPROTO);
    stop_server(&s, t);
    start_server(&s, dir, CTRL_SILENT, &t);
    assert_int_equal(sup_ctrl_shutdown(s.path, 200), -ETIMEDOUT);
    stop_server(&s, t);
    unlink(s.path);
    assert_int_equal(sup_ctrl_shutdown(s.path, 200), -ENOENT);
    test_rmtree(dir);
}

static void qmp_commands(void **state)
{
    (void)state;
    char dir[256];
    struct server s;
    pthread_t t;
    test_mkdtemp(dir);
    start_server(&s, dir, QMP_OK, &t);
    assert_int_equal(sup_qmp(s.path, "system_powerdown", 2000), 0);
    stop_server(&s, t);
    assert_non_null(strstr(s.got, "{\"execute\": \"system_powerdown\"}"));
    start_server(&s, dir, QMP_ERROR, &t);
    assert_int_equal(sup_qmp(s.path, "system_reset", 2000), -EPROTO);
    stop_server(&s, t);
    start_server(&s, dir, QMP_NO_GREET, &t);
    assert_int_equal(sup_qmp(s.path, "system_reset", 2000), -EPROTO);
    stop_server(&s, t);
    start_server(&s, dir, QMP_HUGE, &t);
    assert_int_equal(sup_qmp(s.path, "system_reset", 2000), -EMSGSIZE);
    stop_server(&s, t);
    test_rmtree(dir);
}

static void last_line_of_a_log(void **state)
{
    (void)state;
    char dir[256], path[300], line[64];
    test_mkdtemp(dir);
    snprintf(path, sizeof(path), "%s/log", dir);
    sup_last_line(path, line, sizeof(line));
    assert_string_equal(line, "");
    test_write_file(path, "one\ntwo\x01 three\n\n", 16, 0600);
    sup_last_line(path, line, sizeof(line));
    assert_string_equal(line, "two? three");
    test_rmtree(dir);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pid_parser_accepts_only_plain_pids),
        cmocka_unit_test(pid_files),
        cmocka_unit_test(liveness_needs_the_marker_and_no_zombie),
        cmocka_unit_test(spawn_hands_the_key_on_its_fd_and_closes_the_rest),
        cmocka_unit_test(spawn_failures_say_why),
        cmocka_unit_test(ctrl_shutdown),
        cmocka_unit_test(qmp_commands),
        cmocka_unit_test(last_line_of_a_log),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
