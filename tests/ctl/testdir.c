/* Helpers of vtpmctl's unit tests (see testdir.h). */
#include "testdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void test_mkdtemp(char *buf)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, 256, "%s/ctltest.XXXXXX", t && t[0] ? t : "/tmp");
    if (!mkdtemp(buf)) {
        perror("mkdtemp");
        exit(1);
    }
}

void test_rmtree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    if (!d) {
        unlink(path);
        return;
    }
    while ((de = readdir(d)) != NULL) {
        char sub[1024];
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            test_rmtree(sub);
        } else {
            unlink(sub);
        }
    }
    closedir(d);
    rmdir(path);
}

int test_count_entries(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *de;
    int n = 0;
    if (!d) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

void test_write_file(const char *path, const void *p, size_t n, mode_t mode)
{
    int fd;
    unlink(path);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, p, n) != (ssize_t)n) {
        perror(path);
        exit(1);
    }
    fchmod(fd, mode);
    close(fd);
}

size_t test_read_file(const char *path, void *p, size_t cap)
{
    int fd = open(path, O_RDONLY);
    ssize_t n;
    if (fd < 0) {
        return 0;
    }
    n = read(fd, p, cap);
    close(fd);
    return n > 0 ? (size_t)n : 0;
}
