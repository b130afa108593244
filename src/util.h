/*
 * util.h: small helpers shared by the library's modules (private).
 */
#ifndef SMP_UTIL_H
#define SMP_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include "smpmatch.h"

#if defined(__GNUC__)
#define SMP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SMP_PRINTF(fmt, args)
#endif

#define SMP_PI 3.14159265358979323846

/* Fills err (when not NULL) with a formatted one-line message and returns
 * `status`, so that callers can write `return smp_fail(err, SMP_E_IO, ...)`. */
smp_status smp_fail(smp_error *err, smp_status status, const char *fmt, ...) SMP_PRINTF(3, 4);

/* Overflow-checked a*b and a+b: return 0 and set *out on success, -1 on overflow. */
int smp_mul_size(size_t a, size_t b, size_t *out);
int smp_add_size(size_t a, size_t b, size_t *out);

/* strdup that returns NULL for NULL. */
char *smp_strdup(const char *s);

/* The last path component, for messages ("dir/consult1.jpg" -> "consult1.jpg").
 * Messages use the path as given by the user; this is for display names. */
const char *smp_basename(const char *path);

/* "1.2 MB", "800 bytes": human sizes for messages. buf must hold 32 bytes. */
const char *smp_human_size(size_t bytes, char buf[32]);

/* Why a file could not be created, written or renamed into place (errno),
 * in a technician's words ("the folder does not exist", "the disk is
 * full"); a constant string. */
const char *smp_write_cause(int e);

/* Reads a whole file into a malloc'd buffer, refusing files over max_bytes.
 * Error messages name the path and the cause in words. */
smp_status smp_read_file(const char *path, size_t max_bytes, unsigned char **data, size_t *size,
                         smp_error *err);

/* The same, the buffer from smp_work_alloc(ws): give it back with
 * smp_work_free(ws, data). */
smp_status smp_read_file_ws(const char *path, size_t max_bytes, smp_workspace *ws, unsigned char **data,
                            size_t *size, smp_error *err);

/* Appends a formatted line to a malloc'd list of strings (*items, *n).
 * Returns 0, or -1 when memory runs out (the list stays valid). */
int smp_list_add(char ***items, size_t *n, const char *fmt, ...) SMP_PRINTF(3, 4);

/* qsort comparator for floats, ascending. */
int smp_cmp_float(const void *a, const void *b);

/* Greatest common divisor (Euclid); smp_gcd(a, 0) is a. */
size_t smp_gcd(size_t a, size_t b);

/* The k-th smallest (0-based, k < n) of v[0..n-1], which is reordered:
 * Hoare's quickselect, a few passes over v where a sort for a median or a
 * percentile costs n log n comparisons through a function pointer. The
 * value is the one v[k] would hold after sorting. */
float smp_select_float(float *v, size_t n, size_t k);

/* The same k-th smallest, of the n floats v[0], v[stride], ...
 * v[(n-1)*stride] (one channel of Lab triples: stride 3), which are left
 * as they are. Made for colour values and colour differences: a histogram
 * of 1/8-unit bins over -256..256 finds the bin that holds it, and a
 * quickselect among that bin's values (copied to `scratch`, room for n
 * floats, not overlapping v) gives the exact value. Two passes over v
 * without the mispredicted branches of a quickselect over all of them:
 * several times faster on a few hundred thousand pixels. */
float smp_kth_float(const float *v, size_t n, size_t stride, size_t k, float *scratch);

/* The same, its two passes over v cut in two on t (team.h; NULL, or
 * fewer than 100,000 values: both here). The same value either way.
 * scratch may be NULL: then room for the values of the one bin that holds
 * the k-th is taken from ws (smp_work_alloc; usually a small share of n),
 * and NAN returned when memory runs out. */
struct smp_team;
float smp_kth_float_team(struct smp_team *t, const float *v, size_t n, size_t stride, size_t k,
                         float *scratch, smp_workspace *ws);

/* The histogram those searches count in: SMP_KTH_BINS bins of 1/8 unit
 * over -256..256 (Lab and ΔE values; beyond, the end bins), and the bin of
 * x (which grows with x, so bins keep the order). Inline: the seed pass
 * (regions_auto.c) bins every pixel of the photo. */
#define SMP_KTH_BINS 4096
static inline int smp_kth_bin(float x)
{
    float t = (x + 256.0f) * 8.0f;
    return t >= 0.0f ? (t < (float)(SMP_KTH_BINS - 1) ? (int)t : SMP_KTH_BINS - 1) : 0;
}

/* smp_kth_float_team (stride 1, room from ws) when the counts of the n
 * values by smp_kth_bin are known already (counts[SMP_KTH_BINS]): the
 * pass that counts them is saved. The counts may leave out values that
 * lie in a later bin than the k-th counted one (the k-th is then taken
 * among the counted values: the region finder's +infinity for pixels that
 * are no candidates). NAN when memory runs out. */
float smp_kth_float_counted(struct smp_team *t, const float *v, size_t n, size_t k, const uint32_t *counts,
                            smp_workspace *ws);

/* Passes that count pixels count a run of at most SMP_BYTE_RUN of them in
 * an unsigned char, then add it up: the loop then works in bytes, sixteen
 * to a vector register, where a size_t count kept it one pixel at a time. */
#define SMP_BYTE_RUN 255

/* The squared ΔE76 of the pixel (l, a, b) from c, summed in the one order
 * the library uses everywhere, so that a loop over Lab triples and one
 * over the channels as arrays (smp_lab_apart) get the same values. */
static inline double smp_dist2(float l, float a, float b, const double c[3])
{
    double d0 = l - c[0], d1 = a - c[1], d2 = b - c[2];
    return d0 * d0 + d1 * d1 + d2 * d2;
}

/* The same for a Lab triple p. */
static inline double smp_dist2_px(const float *p, const double c[3])
{
    return smp_dist2(p[0], p[1], p[2], c);
}

/* n Lab triples as three arrays of channels: loops over pixels that way
 * vectorise (GCC does not over the triples, whose floats it would widen). */
static inline void smp_lab_apart(const float *lab, size_t n, float *l, float *a, float *b)
{
    for (size_t i = 0; i < n; i++) {
        l[i] = lab[3 * i];
        a[i] = lab[3 * i + 1];
        b[i] = lab[3 * i + 2];
    }
}

/* malloc for buffers that are written whole soon after (the photo's bytes,
 * its pixels, the Lab image, masks, distance maps, pixel lists): from 1 MB
 * up, aligned to and rounded up to whole 2 MB transparent huge pages where
 * Linux offers them (madvise mode). A first touch of a 4 kB page costs about
 * 18 us on our 2-core VM, against 0.3-0.5 us per 4 kB inside a huge page:
 * for a 0.75 MP photo that was most of the analysis. Release with free(). */
void *smp_alloc_work(size_t n);

/* A workspace for one photo (the library's own when the caller gives
 * none): it also carves small blocks out of huge pages (util.c). Free it
 * with smp_workspace_free after the photo. NULL when memory runs out. */
smp_workspace *smp_workspace_for_photo(void);

/* smp_alloc_work through a workspace (the public smp_workspace, owned by
 * one thread): a block that a finished photo gave back is reused when it
 * holds n bytes and not much more, so the photos of a batch touch little
 * fresh memory and leave nothing for the allocator to fragment (util.c).
 * ws NULL, or n small: smp_alloc_work. NULL when memory runs out. */
void *smp_work_alloc(smp_workspace *ws, size_t n);

/* Gives back a buffer from smp_work_alloc(ws, ...), which must come here
 * with the same ws, never to free(). Buffers that are not ws's blocks are
 * freed (so a work buffer that fell back to malloc, or any malloc'd one,
 * may come here too). NULL is accepted. */
void smp_work_free(smp_workspace *ws, void *p);

/* One photo's workspace only (smp_workspace_for_photo): maps `bytes` now,
 * to be carved for the blocks asked for from then on (before anything else
 * is mapped). Does nothing when memory is short or there is a reserve
 * already. smp_work_touch then touches the next `bytes` of it that no
 * block holds yet, so that the page faults (and the kernel's zeroing of
 * fresh pages: on our VM over a millisecond a megabyte when the host has
 * taken the memory back) are taken ahead, by a thread with nothing else to
 * do: the photo's helper while it waits for the decoder's rows. Returns 1
 * while some of the reserve is still untouched (0 without a reserve).
 * Either may run while another thread takes blocks from ws. */
void smp_work_reserve(smp_workspace *ws, size_t bytes);
int smp_work_touch(smp_workspace *ws, size_t bytes);

/* Takes the page faults of the n bytes at p now (Linux 5.14's
 * MADV_POPULATE_WRITE, on the whole pages among them), without writing to
 * them: another thread may be writing there meanwhile. A hint: elsewhere,
 * or when it fails, the faults come when the memory is first written. */
void smp_prefault(void *p, size_t n);

/* The end of a photo: unmaps the blocks ws kept that this photo did not
 * use. ws NULL: nothing. */
void smp_work_settle(smp_workspace *ws);

/* Bytes ws keeps for reuse now (for tests and benchmarks). */
size_t smp_work_kept(const smp_workspace *ws);

/* A growing byte string, NUL-terminated after its `len` bytes: JSON, CSV
 * and text output, and the consult sheet's PDF. Start from {0}. After
 * memory runs out once, `failed` is set and every later append is
 * ignored, so a writer checks once at the end. */
typedef struct smp_sbuf {
    char *data;
    size_t len, cap;
    int failed;
} smp_sbuf;

void smp_sb_put(smp_sbuf *b, const void *s, size_t n);
void smp_sb_puts(smp_sbuf *b, const char *s);
void smp_sb_printf(smp_sbuf *b, const char *fmt, ...) SMP_PRINTF(2, 3);
/* Hands the buffer over (never NULL when not failed: "" at least), or
 * frees it and returns NULL when memory ran out. */
char *smp_sb_finish(smp_sbuf *b);

#endif /* SMP_UTIL_H */
