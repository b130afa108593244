/*
 * inputs.c: builds the list of photos from arguments, lists and folders.
 * See inputs.h.
 */
#include "inputs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smpmatch.h"

/* Deeper folder trees than this are not walked further: far past any
 * photo archive's layout, and it bounds the recursion. */
#define MAX_DEPTH 64

static int push(input_list *l, const char *path, const char *error)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        input *grown = realloc(l->items, cap * sizeof *grown);
        if (!grown)
            return -1;
        l->items = grown;
        l->cap = cap;
    }
    char *copy = strdup(path);
    if (!copy)
        return -1;
    l->items[l->n].path = copy;
    l->items[l->n].error = error;
    l->n++;
    return 0;
}

/* A photo by its first bytes, as the library recognises them
 * (smp_photo_format: JPEG, PNG, HEIC/HEIF, AVIF, TIFF, WebP; a format not
 * built in still counts, so that its message is reported rather than the
 * file skipped). A file that cannot be opened counts as a photo too, so
 * that its error is reported rather than lost. */
static int looks_like_photo(const char *path)
{
    unsigned char head[SMP_PHOTO_HEAD];
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0)
        return 1;
    ssize_t got = read(fd, head, sizeof head);
    close(fd);
    return got > 0 && smp_photo_format(head, (size_t)got) != NULL;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir);
    int slash = n > 0 && dir[n - 1] == '/';
    char *p = malloc(n + strlen(name) + 2);
    if (p) {
        memcpy(p, dir, n);
        if (!slash)
            p[n++] = '/';
        strcpy(p + n, name);
    }
    return p;
}

/* The entries of a folder, sorted by name (byte order: the same on every
 * machine), "." and ".." left out. */
static char **read_names(const char *dir, size_t *count)
{
    *count = 0;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 32;
            char **grown = realloc(names, cap * sizeof *grown);
            if (!grown)
                goto nomem;
            names = grown;
        }
        if (!(names[n] = strdup(e->d_name)))
            goto nomem;
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof *names, by_name);
    *count = n;
    return names ? names : calloc(1, sizeof *names);
nomem:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    errno = ENOMEM;
    return NULL;
}

static int walk(input_list *l, const char *dir, int depth)
{
    size_t n;
    char **names = read_names(dir, &n);
    if (!names) {
        if (errno == ENOMEM)
            return -1;
        /* unreadable folder: reported as that folder's error */
        return push(l, dir, NULL);
    }
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char *path = join(dir, names[i]);
        struct stat st;
        if (!path) {
            rc = -1;
        } else if (lstat(path, &st) != 0) {
            rc = push(l, path, NULL); /* vanished or unreadable: say so */
        } else if (S_ISDIR(st.st_mode)) {
            if (depth < MAX_DEPTH)
                rc = walk(l, path, depth + 1);
            else
                l->unwalked++;
        } else if (S_ISLNK(st.st_mode) && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            l->unwalked++; /* a link to a folder may lead back up: not followed */
        } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
            if (looks_like_photo(path))
                rc = push(l, path, NULL);
            else
                l->skipped++;
        } else {
            l->skipped++; /* pipes, sockets, devices */
        }
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int inputs_add(input_list *l, const char *arg, int recursive)
{
    struct stat st;
    if (stat(arg, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (recursive)
            return walk(l, arg, 0);
        return push(l, arg, "is a folder: give -r to analyse the photos in it");
    }
    return push(l, arg, NULL);
}

int inputs_add_list(input_list *l, FILE *f, int nul, int recursive)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    errno = 0;
    while (rc == 0 && (len = getdelim(&line, &cap, nul ? '\0' : '\n', f)) != -1) {
        if (len > 0 && line[len - 1] == (nul ? '\0' : '\n'))
            line[--len] = '\0';
        if (!nul && len > 0 && line[len - 1] == '\r')
            line[--len] = '\0';
        if (len > 0)
            rc = inputs_add(l, line, recursive);
    }
    int failed = rc != 0 || ferror(f);
    int saved = rc != 0 ? ENOMEM : errno;
    free(line);
    if (failed) {
        errno = saved ? saved : EIO;
        return -1;
    }
    return 0;
}

void inputs_free(input_list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].path);
    free(l->items);
    memset(l, 0, sizeof *l);
}
