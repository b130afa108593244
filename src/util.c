/*
 * util.c: error formatting, checked size arithmetic, file reading, order
 * statistics.
 */
#define _DEFAULT_SOURCE /* madvise, MADV_HUGEPAGE */
#include "util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "team.h"

smp_status smp_fail(smp_error *err, smp_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        /* One line, always: a newline in a file name must not break JSON Lines
         * consumers that split on lines, nor the text output. */
        for (char *p = err->message; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        err->status = status;
    }
    return status;
}

int smp_mul_size(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a)
        return -1;
    *out = a * b;
    return 0;
}

int smp_add_size(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a)
        return -1;
    *out = a + b;
    return 0;
}

char *smp_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

const char *smp_basename(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

const char *smp_human_size(size_t bytes, char buf[32])
{
    if (bytes < 1000)
        snprintf(buf, 32, "%zu bytes", bytes);
    else if (bytes < 1000 * 1000)
        snprintf(buf, 32, "%.1f kB", (double)bytes / 1e3);
    else if (bytes < (size_t)1000 * 1000 * 1000)
        snprintf(buf, 32, "%.1f MB", (double)bytes / 1e6);
    else
        snprintf(buf, 32, "%.1f GB", (double)bytes / 1e9);
    return buf;
}

/* errno in a technician's words. The rare causes nobody needs explained
 * get their number (strerror is not thread-safe everywhere, and its text is
 * the bare errno our messages avoid). */
static const char *errno_words(int e, char buf[48])
{
    switch (e) {
    case ENOENT: return "no such file";
    case EACCES: return "permission denied (the file cannot be read)";
    case EISDIR: return "is a folder";
    case ENOTDIR: return "a folder in the path does not exist";
    case ENAMETOOLONG: return "the path is too long";
    case EMFILE:
    case ENFILE: return "too many files open";
    case EIO: return "the disk could not be read";
    default: snprintf(buf, 48, "cannot be read (system error %d)", e); return buf;
    }
}

const char *smp_write_cause(int e)
{
    switch (e) {
    case ENOENT: return "the folder does not exist";
    case ENOTDIR: return "a part of the path is not a folder";
    case EACCES:
    case EPERM: return "no permission to write in the folder";
    case EROFS: return "the folder is on a read-only disk";
    case ENOSPC: return "the disk is full";
    case EDQUOT: return "the disk quota is used up";
    case ENAMETOOLONG: return "the file name is too long";
    case EIO: return "a disk input/output error";
    case EFBIG: return "over the largest file size allowed";
    case EISDIR: return "a folder of that name is in the way";
    default: return "a system error";
    }
}

smp_status smp_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size,
                         smp_error *err)
{
    return smp_read_file_ws(path, max_bytes, NULL, data, size, err);
}

smp_status smp_read_file_ws(const char *path, size_t max_bytes, smp_workspace *ws, unsigned char **data,
                            size_t *size, smp_error *err)
{
    *data = NULL;
    *size = 0;
    char eb[48];
    /* Non-blocking open: a FIFO or device named like a photo must not hang
     * the batch; anything but a regular file is refused after fstat. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return smp_fail(err, SMP_E_IO, "%s: %s", path, errno_words(errno, eb));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return smp_fail(err, SMP_E_IO, "%s: %s", path, errno_words(e, eb));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return smp_fail(err, SMP_E_IO, "%s: %s", path, errno_words(EISDIR, eb));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return smp_fail(err, SMP_E_IO, "%s: not a regular file (a pipe or device)", path);
    }
    char h1[32], h2[32];
    if ((unsigned long long)st.st_size > (unsigned long long)max_bytes) {
        close(fd);
        return smp_fail(err, SMP_E_LIMIT, "%s: file is %s, over the %s limit", path,
                        smp_human_size((size_t)st.st_size, h1), smp_human_size(max_bytes, h2));
    }
    size_t n = (size_t)st.st_size, got = 0;
    unsigned char *buf = smp_work_alloc(ws, n ? n : 1); /* filled whole just below */
    if (!buf) {
        close(fd);
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory reading %s", path,
                        smp_human_size(n, h1));
    }
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : 0;
            smp_work_free(ws, buf);
            close(fd);
            return smp_fail(err, SMP_E_IO, "%s: read error (%s)", path,
                            e ? errno_words(e, eb) : "the file shrank while it was read");
        }
        got += (size_t)k;
    }
    close(fd);
    *data = buf;
    *size = n;
    return SMP_OK;
}

int smp_list_add(char ***items, size_t *n, const char *fmt, ...)
{
    char buf[SMP_ERROR_MAX + 512]; /* a warning may quote a whole error */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **grown = realloc(*items, (*n + 1) * sizeof **items);
    if (!grown)
        return -1;
    *items = grown;
    if (!(grown[*n] = smp_strdup(buf)))
        return -1;
    (*n)++;
    return 0;
}

/* Buffers of 1 MB and up are asked for in transparent huge pages where
 * Linux offers them (madvise mode). Measured on our 2-core VM: a 12 MP JPEG
 * load took ~210 ms with 4 kB pages, ~50 ms with huge pages, djpeg ~55 ms:
 * the difference is ~9000 first-touch page faults on 36 MB; and a 12 MP
 * JPEG analysed at 1000x750 went from 176 to 158 ms when the photo's bytes
 * and pixels moved to huge pages too. The buffer is released with free(). */
#define HUGE_PAGE ((size_t)2 * 1024 * 1024)

void *smp_alloc_work(size_t n)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (n >= HUGE_PAGE / 2 && n <= SIZE_MAX - HUGE_PAGE) {
        size_t whole = (n + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
        void *p = NULL;
        if (posix_memalign(&p, HUGE_PAGE, whole) != 0)
            return NULL;
        madvise(p, whole, MADV_HUGEPAGE); /* a hint: failure changes nothing */
        return p;
    }
#endif
    return malloc(n ? n : 1);
}

/* A workspace's blocks are mapped straight from the kernel (mmap), not
 * taken from malloc: given back at the end of a photo, they leave no holes
 * in malloc's per-thread arenas, and freeing one returns it to the system
 * at once. That is the point: with malloc alone, 200 photos on 2 threads
 * peaked at 197 MB and 800 at 351 MB, while one thread stayed at 31 MB.
 *
 * Reuse: a block serves a request of n bytes when it holds n and at most
 * 2n, or n + 2 MB (the huge-page rounding), so the Lab image's block is not
 * spent on a small list. After each photo, the blocks that photo did not
 * use are unmapped (smp_work_settle): some sizes follow the photo's content
 * (the skin seeds, the hair sample), and kept near misses would pile up.
 *
 * One photo's workspace (smp_workspace_for_photo: the library's own when
 * the caller gives none) carves blocks under 1 MB out of 2 MB huge pages
 * instead of mapping each, and unmaps larger ones as soon as they come
 * back. The masks, distance maps and samples of a 12 MP photo (0.1-0.8 MB
 * each) otherwise cost about 900 first-touch page faults of 4 kB; carved,
 * a photo took 204 faults in all, and 93-95 ms instead of 98-103 (min and
 * median of 25 alternating runs), at the same peak memory.
 *
 * Limits: WS_BLOCKS blocks lent and WS_BLOCKS kept (a photo has about a
 * dozen work buffers of WS_MIN_BYTES or more alive at once), WS_SLABS
 * slabs; beyond that, and below WS_MIN_BYTES (which malloc reuses well),
 * smp_alloc_work. A block over WS_MAX_KEEP is unmapped when given back: one
 * 100 MP photo analysed at full size must not pin 1.2 GB for the rest of a
 * batch.
 *
 * Under AddressSanitizer and valgrind, what is not lent is marked as not to
 * be touched, and a lent block's bytes past the n asked for too; a block
 * lent again is marked as holding nothing yet (valgrind then reports a
 * read before a write, as it would for malloc). */
#define WS_BLOCKS 32
#define WS_MIN_BYTES ((size_t)256 * 1024)
#define WS_MIN_CARVED ((size_t)16 * 1024)
#define WS_SLABS 16
#define WS_MAX_KEEP ((size_t)64 * 1024 * 1024)

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define WS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define WS_ASAN 1
#endif
#endif
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define WS_VALGRIND 1
#endif
#endif

/* [p, p + n) may be used and holds nothing yet; [p + n, p + size) may not. */
static void ws_lend_marks(void *p, size_t n, size_t size)
{
#ifdef WS_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
    ASAN_POISON_MEMORY_REGION((char *)p + n, size - n);
#endif
#ifdef WS_VALGRIND
    VALGRIND_MAKE_MEM_UNDEFINED(p, n);
    VALGRIND_MAKE_MEM_NOACCESS((char *)p + n, size - n);
#endif
    (void)p, (void)n, (void)size;
}

static void ws_keep_marks(void *p, size_t size)
{
#ifdef WS_ASAN
    ASAN_POISON_MEMORY_REGION(p, size);
#endif
#ifdef WS_VALGRIND
    VALGRIND_MAKE_MEM_NOACCESS(p, size);
#endif
    (void)p, (void)size;
}

/* Mappings are made accessible again before they go back to the kernel:
 * the address range is reused by later mappings and by malloc. */
static void ws_unmap(void *p, size_t size)
{
    ws_lend_marks(p, size, size);
    munmap(p, size);
}

typedef struct ws_block {
    void *p;
    size_t size;    /* mapped (or carved) bytes */
    unsigned photo; /* kept blocks: the photo that last gave it back */
    int carved;     /* part of a slab: never unmapped on its own */
} ws_block;

struct smp_workspace {
    ws_block lent[WS_BLOCKS], kept[WS_BLOCKS];
    size_t n_lent, n_kept;
    unsigned photo; /* counts smp_work_settle calls */
    int one_photo;  /* smp_workspace_for_photo */
    unsigned char *slab[WS_SLABS];
    size_t n_slabs, slab_used; /* bytes of the last slab carved */
    unsigned char *reserve;    /* smp_work_reserve: carved first, touched ahead (smp_work_touch) */
    size_t reserve_size, reserve_used, reserve_touched;
    /* Held while the tables change: a photo's helper thread (team.h) takes
     * buffers from its photo's workspace too. Uncontended, a few dozen
     * times a photo. */
    pthread_mutex_t lock;
};

smp_status smp_workspace_new(smp_workspace **out)
{
    *out = calloc(1, sizeof **out);
    if (*out && pthread_mutex_init(&(*out)->lock, NULL) != 0) {
        free(*out);
        *out = NULL;
    }
    return *out ? SMP_OK : SMP_E_NOMEM;
}

smp_workspace *smp_workspace_for_photo(void)
{
    smp_workspace *ws;
    if (smp_workspace_new(&ws) != SMP_OK)
        return NULL;
    ws->one_photo = 1;
    return ws;
}

void smp_workspace_free(smp_workspace *ws)
{
    if (!ws)
        return;
    for (size_t i = 0; i < ws->n_kept; i++)
        if (!ws->kept[i].carved)
            ws_unmap(ws->kept[i].p, ws->kept[i].size);
    for (size_t i = 0; i < ws->n_lent; i++) /* none, unless a caller kept a buffer */
        if (!ws->lent[i].carved)
            ws_unmap(ws->lent[i].p, ws->lent[i].size);
    for (size_t i = 0; i < ws->n_slabs; i++)
        ws_unmap(ws->slab[i], HUGE_PAGE);
    if (ws->reserve)
        ws_unmap(ws->reserve, ws->reserve_size);
    pthread_mutex_destroy(&ws->lock);
    free(ws);
}

/* A new mapping of at least n bytes, or NULL. */
static void *ws_map(size_t n, size_t *size)
{
    size_t page = n >= HUGE_PAGE / 2 ? HUGE_PAGE : 4096;
    if (n > SIZE_MAX - page)
        return NULL;
    *size = (n + page - 1) / page * page;
    void *p = mmap(NULL, *size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (page == HUGE_PAGE)
        madvise(p, *size, MADV_HUGEPAGE); /* a hint: failure changes nothing */
#endif
    return p;
}

/* What a carved block of n bytes takes: whole cache lines, and under
 * AddressSanitizer a gap that stays poisoned, so that running off one
 * block is caught. */
static size_t carved_size(size_t n)
{
    size_t size = (n + 63) / 64 * 64;
#ifdef WS_ASAN
    size += 64;
#endif
    return size;
}

/* n bytes (under 1 MB) from the last slab, or from a new one; NULL when
 * the slabs are used up or memory ran out. */
static void *ws_carve(smp_workspace *ws, size_t n, size_t *size)
{
    *size = carved_size(n);
    if (ws->n_slabs == 0 || ws->slab_used + *size > HUGE_PAGE) {
        size_t mapped;
        unsigned char *p;
        if (ws->n_slabs == WS_SLABS || !(p = ws_map(HUGE_PAGE, &mapped)))
            return NULL;
        ws_keep_marks(p, HUGE_PAGE); /* nothing in it is lent yet */
        ws->slab[ws->n_slabs++] = p;
        ws->slab_used = 0;
    }
    void *p = ws->slab[ws->n_slabs - 1] + ws->slab_used;
    ws->slab_used += *size;
    return p;
}

/* n bytes (any size) from the reserve, or NULL when it has no room. */
static void *ws_carve_reserve(smp_workspace *ws, size_t n, size_t *size)
{
    *size = carved_size(n);
    if (!ws->reserve || *size > ws->reserve_size - ws->reserve_used)
        return NULL;
    void *p = ws->reserve + ws->reserve_used;
    ws->reserve_used += *size;
    return p;
}

void smp_work_reserve(smp_workspace *ws, size_t bytes)
{
    if (!ws || !ws->one_photo || bytes == 0)
        return;
    size_t size;
    unsigned char *p = ws_map(bytes, &size);
    if (!p)
        return; /* a hint: without it the same blocks are mapped when asked for */
    ws_keep_marks(p, size); /* nothing in it is lent yet */
    pthread_mutex_lock(&ws->lock);
    if (!ws->reserve) {
        ws->reserve = p;
        ws->reserve_size = size;
        p = NULL;
    }
    pthread_mutex_unlock(&ws->lock);
    if (p)
        ws_unmap(p, size); /* one reserve a workspace */
}

int smp_work_touch(smp_workspace *ws, size_t bytes)
{
    if (!ws)
        return 0;
    pthread_mutex_lock(&ws->lock);
    /* Only what nobody holds: past what was carved already (under this
     * lock, so nothing is carved from it meanwhile) and past the last touch. */
    size_t from = ws->reserve_touched > ws->reserve_used ? ws->reserve_touched : ws->reserve_used;
    size_t to = from + (bytes < ws->reserve_size - from ? bytes : ws->reserve_size - from);
    if (ws->reserve && from < to) {
        unsigned char *p = ws->reserve + from;
        ws_lend_marks(p, to - from, to - from); /* writable for the touch alone */
        for (size_t i = 0; i < to - from; i += 4096)
            p[i] = 0; /* the first touch, here: the page stays zero */
        ws_keep_marks(p, to - from);
        ws->reserve_touched = to;
    }
    int more = ws->reserve && to < ws->reserve_size;
    pthread_mutex_unlock(&ws->lock);
    return more;
}

void smp_prefault(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    const uintptr_t page = 4096; /* the smallest x86 and ARM page: a range of whole pages of any size */
    uintptr_t from = ((uintptr_t)p + page - 1) & ~(page - 1), to = ((uintptr_t)p + n) & ~(page - 1);
    if (to > from)
        madvise((void *)from, to - from, MADV_POPULATE_WRITE);
#else
    (void)p, (void)n;
#endif
}

static void *ws_lend(smp_workspace *ws, size_t n)
{
    if (ws->n_lent == WS_BLOCKS)
        return smp_alloc_work(n);
    size_t best = ws->n_kept;
    for (size_t i = 0; i < ws->n_kept; i++) {
        size_t size = ws->kept[i].size;
        if (size >= n && size - n <= (n > HUGE_PAGE ? n : HUGE_PAGE) &&
            (best == ws->n_kept || size < ws->kept[best].size))
            best = i;
    }
    ws_block b = {NULL, 0, 0, 0};
    if (best < ws->n_kept) {
        b = ws->kept[best];
        ws->kept[best] = ws->kept[--ws->n_kept];
    } else if (ws->one_photo && (b.p = ws_carve_reserve(ws, n, &b.size))) {
        b.carved = 1;
    } else if (ws->one_photo && n < HUGE_PAGE / 2 && (b.p = ws_carve(ws, n, &b.size))) {
        b.carved = 1;
    } else if (!(b.p = ws_map(n, &b.size))) {
        return NULL;
    }
    ws->lent[ws->n_lent++] = b;
    ws_lend_marks(b.p, n, b.size);
    return b.p;
}

void *smp_work_alloc(smp_workspace *ws, size_t n)
{
    size_t least = ws && ws->one_photo ? WS_MIN_CARVED : WS_MIN_BYTES;
    if (!ws || n < least)
        return smp_alloc_work(n);
    pthread_mutex_lock(&ws->lock);
    void *p = ws_lend(ws, n);
    pthread_mutex_unlock(&ws->lock);
    return p;
}

/* Takes p back into ws's tables; 0 when it is not one of ws's blocks. */
static int ws_take_back(smp_workspace *ws, void *p)
{
    for (size_t i = 0; i < ws->n_lent; i++) {
        if (ws->lent[i].p != p)
            continue;
        ws_block b = ws->lent[i];
        ws->lent[i] = ws->lent[--ws->n_lent];
        if (!b.carved && (ws->one_photo || b.size > WS_MAX_KEEP || ws->n_kept == WS_BLOCKS)) {
            ws_unmap(b.p, b.size);
        } else if (ws->n_kept < WS_BLOCKS) {
            b.photo = ws->photo;
            ws->kept[ws->n_kept++] = b;
            ws_keep_marks(b.p, b.size);
        } else {
            ws_keep_marks(b.p, b.size); /* carved: left in its slab until the workspace goes */
        }
        return 1;
    }
    return 0;
}

void smp_work_free(smp_workspace *ws, void *p)
{
    if (!p)
        return;
    int taken = 0;
    if (ws) {
        pthread_mutex_lock(&ws->lock);
        taken = ws_take_back(ws, p);
        pthread_mutex_unlock(&ws->lock);
    }
    if (!taken)
        free(p); /* not a block of ws: from malloc (smp_alloc_work and the like) */
}

void smp_work_settle(smp_workspace *ws)
{
    if (!ws)
        return;
    for (size_t i = 0; i < ws->n_kept;) {
        if (ws->kept[i].photo != ws->photo && !ws->kept[i].carved) {
            ws_unmap(ws->kept[i].p, ws->kept[i].size);
            ws->kept[i] = ws->kept[--ws->n_kept];
        } else {
            i++;
        }
    }
    ws->photo++;
}

size_t smp_work_kept(const smp_workspace *ws)
{
    size_t bytes = 0;
    for (size_t i = 0; ws && i < ws->n_kept; i++)
        bytes += ws->kept[i].size;
    return bytes;
}

size_t smp_gcd(size_t a, size_t b)
{
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int smp_cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

float smp_select_float(float *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (hi > lo) {
        float pivot = v[lo + (hi - lo) / 2];
        ptrdiff_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                float t = v[i];
                v[i++] = v[j];
                v[j--] = t;
            }
        }
        if (kk <= j)
            hi = j;
        else if (kk >= i)
            lo = i;
        else
            break;
    }
    return v[kk];
}

/* smp_kth_float in two parts (team.h): each part's histogram of its half
 * of v, then each part's values in the bin that holds the k-th, placed
 * after the upper part's, so scratch holds them in the order one pass
 * would have left them. */
typedef struct kth_job {
    const float *v;
    size_t n, stride;
    uint32_t hist[SMP_PARTS][SMP_KTH_BINS];
    int bin;        /* the k-th's, once found */
    int sparse;     /* it holds under 1/16 of the values (kth_gather) */
    int single;     /* no team: part 0 takes all n, part 1 none (kth_range) */
    float *scratch;
    size_t at[SMP_PARTS], room[SMP_PARTS], got[SMP_PARTS]; /* kth_gather's */
} kth_job;

/* Part `part`'s share of the values: half of them, or with no team all of
 * them in part 0 (one count, one gathering; the same k-th). */
static void kth_range(const kth_job *j, int part, size_t *lo, size_t *hi)
{
    if (j->single) {
        *lo = part ? j->n : 0;
        *hi = j->n;
    } else {
        smp_part_range(j->n, part, lo, hi);
    }
}

static void kth_count(void *arg, int part)
{
    kth_job *j = arg;
    size_t lo, hi;
    kth_range(j, part, &lo, &hi);
    /* Four histograms, summed after: neighbouring values of a smooth region
     * fall in the same bin, and one histogram's count then waits on the
     * store before it. 4 x 16 kB on the stack (a thread calling the library
     * needs that much room); a 12 MP photo's region finding went from 33.4
     * to 32.7 ms (min of 5 alternating runs). */
    uint32_t four[4][SMP_KTH_BINS];
    memset(four, 0, sizeof four);
    const float *v = j->v;
    size_t i = lo, stride = j->stride;
    for (; i + 4 <= hi; i += 4)
        for (int q = 0; q < 4; q++)
            four[q][smp_kth_bin(v[(i + (size_t)q) * stride])]++;
    for (; i < hi; i++)
        four[0][smp_kth_bin(v[i * stride])]++;
    uint32_t *hist = j->hist[part];
    for (int c = 0; c < SMP_KTH_BINS; c++)
        hist[c] = four[0][c] + four[1][c] + four[2][c] + four[3][c];
}

/* The values in the bin, without a branch (which bin a value falls in is
 * as good as random): each is written, and kept when it belongs. A part
 * writes only its own places (room[part] of them from scratch + at[part]):
 * past its last one it writes to `spare`. When the bin holds few of the
 * values (j->sparse: under 1/16 of them, and not an end bin, which also
 * holds what lies beyond), blocks of four with none of them in it are
 * first told apart and skipped: t = (x + 256) * 8 as smp_kth_bin takes it,
 * four at a time (GCC's vector extension), is in [bin, bin + 1) exactly
 * when x is in the bin (a NaN is never ruled out). A median of 50,000 L*
 * values has 1-4 % of them in its bin: the gathering took 31-50 us, and
 * 13-26 so (same values, same order). */
typedef float kth_lanes __attribute__((vector_size(4 * sizeof(float))));
typedef int kth_mask __attribute__((vector_size(4 * sizeof(int))));

static void kth_gather(void *arg, int part)
{
    kth_job *j = arg;
    size_t lo, hi, m = 0, mine = j->room[part], stride = j->stride;
    float *out = j->scratch + j->at[part], spare;
    const float *v = j->v;
    const int bin = j->bin;
    kth_range(j, part, &lo, &hi);
    size_t i = lo;
    const float first = (float)bin, past = (float)(bin + 1);
    for (; j->sparse && i + 4 <= hi; i += 4) {
        kth_lanes x;
        for (int q = 0; q < 4; q++)
            x[q] = v[(i + (size_t)q) * stride];
        kth_lanes t = (x + 256.0f) * 8.0f;
        kth_mask maybe = ~(t < first) & ~(t >= past);
        if (!((maybe[0] | maybe[1]) | (maybe[2] | maybe[3])))
            continue;
        for (int q = 0; q < 4; q++) {
            float y = v[(i + (size_t)q) * stride];
            *(m < mine ? out + m : &spare) = y;
            m += smp_kth_bin(y) == bin;
        }
    }
    for (; i < hi; i++) {
        float x = v[i * stride];
        *(m < mine ? out + m : &spare) = x;
        m += smp_kth_bin(x) == bin;
    }
    j->got[part] = m < mine ? m : mine;
}

/* The k-th smallest of v[0..n-1] (reordered), as smp_select_float, for a
 * bin's values that can be many (a smooth skin's deviations put 74,000 in
 * one 1/8 bin): while they are, the values are counted again into
 * KTH_FINE bins between their least and greatest, and only the bin that
 * holds the k-th is kept, at the front. Bins grow with the value (a sum
 * and a product, both monotone in it), so the k-th stays in the bin
 * found; equal values end it. */
#define KTH_FINE 1024
#define KTH_FINE_MIN 4096 /* fewer: a quickselect is as fast */

static float kth_refine(float *v, size_t n, size_t k)
{
    uint32_t count[KTH_FINE];
    while (n > KTH_FINE_MIN) {
        float lo = v[0], hi = v[0];
        for (size_t i = 1; i < n; i++) {
            lo = v[i] < lo ? v[i] : lo;
            hi = v[i] > hi ? v[i] : hi;
        }
        if (!(hi > lo))
            return lo; /* all equal (or not numbers: the quickselect's answer would be as good) */
        float scale = (float)KTH_FINE / (hi - lo);
        memset(count, 0, sizeof count);
        for (size_t i = 0; i < n; i++) {
            float t = (v[i] - lo) * scale;
            count[t < (float)(KTH_FINE - 1) ? (int)t : KTH_FINE - 1]++;
        }
        size_t below = 0;
        int b = 0;
        while (below + count[b] <= k)
            below += count[b++];
        size_t m = 0;
        for (size_t i = 0; i < n; i++) { /* the bin's values to the front, in order */
            float t = (v[i] - lo) * scale, x = v[i];
            v[m] = x;
            m += (t < (float)(KTH_FINE - 1) ? (int)t : KTH_FINE - 1) == b;
        }
        if (m == n)
            break; /* no progress (rounding at the top bin): select among them */
        n = m;
        k -= below;
    }
    return smp_select_float(v, n, k);
}

/* The k-th once j->hist holds the counts (of the parts, or all in part
 * 0's): the bin, its values gathered (into scratch, or room of ws's), the
 * k-th among them. */
static float kth_from_counts(smp_team *team, kth_job *j, size_t k, float *scratch, smp_workspace *ws,
                             int per_part)
{
    size_t below = 0, in_bin;
    int b = 0;
    while (below + (in_bin = (size_t)j->hist[0][b] + j->hist[1][b]) <= k) {
        below += in_bin;
        b++;
    }
    j->bin = b;
    j->sparse = in_bin < j->n / 16 && b > 0 && b < SMP_KTH_BINS - 1;
    /* Counts per part: each part's values after the upper part's, in the
     * order one pass leaves them. Otherwise each part has room for all,
     * and the lower part's are moved up after (a k-th has no order). */
    size_t need = per_part ? in_bin : 2 * in_bin;
    /* the bin's values only, from ws: fresh pages are dear (smp_alloc_work) */
    float *own = scratch && per_part ? NULL : smp_work_alloc(ws, need * sizeof *own);
    if (!(scratch && per_part) && !own)
        return NAN;
    j->scratch = own ? own : scratch;
    j->at[0] = 0;
    j->at[1] = per_part ? j->hist[0][b] : in_bin;
    j->room[0] = per_part ? j->hist[0][b] : in_bin;
    j->room[1] = per_part ? j->hist[1][b] : in_bin;
    smp_team_split(team, kth_gather, j);
    if (!per_part)
        memmove(j->scratch + j->got[0], j->scratch + in_bin, j->got[1] * sizeof *j->scratch);
    float x = kth_refine(j->scratch, in_bin, k - below);
    smp_work_free(ws, own);
    return x;
}

/* Fewer values than this are searched on the caller alone: waking the
 * helper twice and fresh pages for the counts cost more than half the
 * passes save (the skin's 45,000 distances: 0.5 ms split, 0.1 ms alone,
 * same value). */
#define KTH_TEAM_MIN 100000

float smp_kth_float_team(smp_team *team, const float *v, size_t n, size_t stride, size_t k,
                         float *scratch, smp_workspace *ws)
{
    if (n < KTH_TEAM_MIN)
        team = NULL;
    kth_job *j = n <= UINT32_MAX ? malloc(sizeof *j) : NULL; /* 32 kB of counts: not on a stack */
    if (!j) { /* more than the counts hold (never at 100 MP), or no memory: slower, exact */
        if (!scratch)
            return NAN;
        for (size_t i = 0; i < n; i++)
            scratch[i] = v[i * stride];
        return smp_select_float(scratch, n, k);
    }
    j->v = v;
    j->n = n;
    j->stride = stride;
    j->single = !team;
    if (team) {
        smp_team_split(team, kth_count, j);
    } else {
        kth_count(j, 0);
        memset(j->hist[1], 0, sizeof j->hist[1]);
    }
    float x = kth_from_counts(team, j, k, scratch, ws, 1);
    free(j);
    return x;
}

float smp_kth_float_counted(smp_team *team, const float *v, size_t n, size_t k, const uint32_t *counts,
                            smp_workspace *ws)
{
    kth_job *j = malloc(sizeof *j);
    if (!j)
        return NAN;
    j->v = v;
    j->n = n;
    j->stride = 1;
    j->single = 0;
    memcpy(j->hist[0], counts, sizeof j->hist[0]);
    memset(j->hist[1], 0, sizeof j->hist[1]);
    float x = kth_from_counts(team, j, k, NULL, ws, 0);
    free(j);
    return x;
}

float smp_kth_float(const float *v, size_t n, size_t stride, size_t k, float *scratch)
{
    return smp_kth_float_team(NULL, v, n, stride, k, scratch, NULL);
}

/* ------------------------------------------------------------------ */
/* A growing string                                                    */
/* ------------------------------------------------------------------ */

void smp_sb_put(smp_sbuf *b, const void *s, size_t n)
{
    if (b->failed)
        return;
    size_t need;
    if (smp_add_size(b->len, n + 1, &need) != 0) {
        b->failed = 1;
        return;
    }
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void smp_sb_puts(smp_sbuf *b, const char *s)
{
    smp_sb_put(b, s, strlen(s));
}

void smp_sb_printf(smp_sbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if ((size_t)n < sizeof small) {
        smp_sb_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    smp_sb_put(b, big, (size_t)n);
    free(big);
}

char *smp_sb_finish(smp_sbuf *b)
{
    if (b->failed) {
        free(b->data);
        return NULL;
    }
    if (!b->data)
        smp_sb_put(b, "", 0);
    return b->failed ? NULL : b->data;
}
