/*
 * image_heif.c: HEIC/HEIF decoding with libheif (see image.h).
 *
 * In:  the bytes of a HEIF file (ISO/IEC 23008-12): the primary image,
 *      HEVC-coded (HEIC, what iPhones save; AVIF-branded files are refused
 *      before they get here, src/image.c says why); 8 to 16 bits; its ICC profile ("colr"
 *      box of type prof or rICC).
 * Out: RGB pixels, 8 bits, or 16 bits (native endian, scaled to the full
 *      0..65535 range) when the file has more than 8; reduced by the factor
 *      of smp_plan_reduction with smp_rows (block averages of the decoded
 *      values, as for PNG) after a full decode: libheif has no reduced
 *      decode. An alpha plane is used as validity, as for PNG.
 * Not: image sequences and bursts (the primary image only), depth maps,
 *      thumbnails; nclx colour (a "colr" box of type nclx, which libheif's
 *      own encoder writes) is not turned into a profile: the photo counts as
 *      untagged (sRGB assumed, and the output says so). Mask decoding.
 *
 * Orientation. HEIF states rotation and mirroring in its own item
 * properties (irot, imir: ISO/IEC 23008-12 6.5.10-6.5.12), and libheif
 * applies them while decoding unless told to ignore them
 * (heif_decoding_options.ignore_transformations, left at 0). The EXIF
 * Orientation that phones also write into the Exif item describes the same
 * turn, so applying it too would turn the photo twice: it is not read. The
 * decoded pixels are already upright, img->orientation is 1, and the
 * reduction grid is laid over them as displayed. (test_formats checks that
 * an Exif item saying 6 leaves the pixels as they are.)
 *
 * Strictness. Outside strict mode libheif decodes a damaged or cut image
 * "as best it can", filling in grey: a half-grey photo would give a
 * confident, wrong hair colour, so decoding is strict.
 *
 * Threads and printing. A heif_context is per call; libheif registers its
 * built-in codecs when the library loads, so heif_init/heif_deinit (a
 * process-wide reference count whose last deinit unregisters the codecs
 * under every other thread's feet) are not called. libheif and libde265
 * report through return values, never on stderr.
 *
 * Where it lives. In a shared build this file is the module
 * libsmpmatch-heif.so, entry point smp_module_heif_decode, loaded by
 * smp_image_decode_heif (src/module.c) at the first HEIC photo: a
 * program that never reads one never maps its library. A static build
 * links it into libsmpmatch.
 */
#include "image.h"

#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

#include "util.h"

static int host_is_little_endian(void)
{
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* A big-endian number of `bytes` (2 or 4) bytes. */
static uint32_t be_id(const unsigned char *p, size_t bytes)
{
    return bytes == 2 ? (uint32_t)p[0] << 8 | p[1] : be32(p);
}

/* The box at p[at] (ISO/IEC 14496-12 4.2: a 32-bit size, the type, a
 * 64-bit size after them when the first is 1, 0 for "to the end"): its
 * type, where its contents start and where it ends. 0; 1 when its header
 * or its size runs past the end of the data; -1 when it is no box (a size
 * under 8; a 64-bit size under 16 leaves body past end). */
typedef struct box {
    uint32_t type;
    size_t body, end;
} box;

static int read_box(const unsigned char *p, size_t size, size_t at, box *b)
{
    if (size - at < 8)
        return 1;
    uint64_t len = be32(p + at);
    size_t head = 8;
    if (len == 1) {
        if (size - at < 16)
            return 1;
        len = (uint64_t)be32(p + at + 8) << 32 | be32(p + at + 12);
        head = 16;
    } else if (len == 0) {
        len = size - at;
    }
    if (len < 8)
        return -1;
    if (len > size - at)
        return 1;
    b->type = be32(p + at + 4);
    b->body = at + head;
    b->end = at + (size_t)len;
    return 0;
}

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))

/* Does a top-level box run past the end of the data? libheif reports a
 * cut inside the "meta" box as "No 'meta' box", not as the end of the
 * data. */
static int boxes_cut_short(const unsigned char *p, size_t size)
{
    for (size_t at = 0; at < size;) {
        box b;
        int r = read_box(p, size, at, &b);
        if (r)
            return r > 0; /* no box: damage, not a cut */
        at = b.end;
    }
    return 0;
}

/* The first box of `type` among the boxes in p[from, to), or -1. */
static int find_box(const unsigned char *p, size_t from, size_t to, uint32_t type, box *out)
{
    for (size_t at = from; at < to;) {
        box b;
        if (read_box(p, to, at, &b) != 0 || b.body > b.end)
            return -1;
        if (b.type == type) {
            *out = b;
            return 0;
        }
        at = b.end;
    }
    return -1;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* The index of id in the n sorted ids (which hold it). */
static size_t id_index(const uint32_t *ids, size_t n, uint32_t id)
{
    const uint32_t *at = bsearch(&id, ids, n, sizeof *ids, cmp_u32);
    return at ? (size_t)(at - ids) : 0;
}

/* Derived images (ISO/IEC 23008-12 6.6: a grid, an overlay or an identity,
 * made from the images its "dimg" references in the "iref" box name) made
 * from themselves, directly or through others, or nested deeper than
 * DERIVED_MAX_DEPTH. libheif 1.15 (Debian 12) follows such a loop until
 * threads or memory run out and the process is aborted: a crafted file,
 * a grid whose one tile is itself, found by our fuzzer. Phones write a
 * grid of coded tiles, one level; 8 is our bound. Each image's level (0
 * for one made from nothing, else one more than its deepest part's) is
 * raised along every reference, DERIVED_MAX_DEPTH + 1 times over: a level
 * above the bound is then a chain that deep or a loop. References past
 * damage, or more than memory allows, are left to libheif. */
#define DERIVED_MAX_DEPTH 8

static int derived_loop(const unsigned char *p, size_t size)
{
    box meta, iref;
    if (find_box(p, 0, size, FOURCC('m', 'e', 't', 'a'), &meta) != 0 || meta.end - meta.body < 4 ||
        find_box(p, meta.body + 4, meta.end, FOURCC('i', 'r', 'e', 'f'), &iref) != 0 ||
        iref.end - iref.body < 4)
        return 0; /* nothing refers to anything (or libheif will say what is wrong) */
    size_t idw = p[iref.body] == 0 ? 2 : 4; /* item IDs of 16 bits in version 0, else 32 */
    size_t cap = (iref.end - iref.body) / idw; /* more references than that cannot fit */
    uint32_t *ref = malloc(2 * cap * sizeof *ref), *ids = malloc(2 * cap * sizeof *ids); /* image, part */
    size_t ne = 0, nv = 0;
    if (!ref || !ids) {
        free(ref);
        free(ids);
        return 0;
    }
    for (size_t at = iref.body + 4; at < iref.end;) {
        box r;
        if (read_box(p, iref.end, at, &r) != 0 || r.body > r.end || r.end - r.body < idw + 2)
            break;
        uint32_t image = be_id(p + r.body, idw);
        size_t count = be_id(p + r.body + idw, 2), q = r.body + idw + 2;
        for (size_t i = 0; r.type == FOURCC('d', 'i', 'm', 'g') && i < count && q + idw <= r.end && ne < cap;
             i++, q += idw, ne++) {
            ref[2 * ne] = image;
            ref[2 * ne + 1] = be_id(p + q, idw);
        }
        at = r.end;
    }
    memcpy(ids, ref, 2 * ne * sizeof *ids);
    qsort(ids, 2 * ne, sizeof *ids, cmp_u32);
    for (size_t i = 0; i < 2 * ne; i++)
        if (nv == 0 || ids[nv - 1] != ids[i])
            ids[nv++] = ids[i];
    unsigned *level = calloc(nv ? nv : 1, sizeof *level);
    int loop = 0;
    for (int round = 0; level && round <= DERIVED_MAX_DEPTH; round++)
        for (size_t e = 0; e < ne; e++) {
            size_t image = id_index(ids, nv, ref[2 * e]), part = id_index(ids, nv, ref[2 * e + 1]);
            if (level[image] < level[part] + 1)
                level[image] = level[part] + 1;
        }
    for (size_t v = 0; level && v < nv; v++)
        loop |= level[v] > DERIVED_MAX_DEPTH;
    free(level);
    free(ref);
    free(ids);
    return loop;
}

/* `kind` is the file's kind as the technician knows it ("HEIC"). */
static smp_status heif_failed(const char *name, const char *kind, const unsigned char *data,
                              size_t size, struct heif_error e, smp_error *err)
{
    char buf[32];
    if (e.code == heif_error_Memory_allocation_error)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory decoding the %s photo", name, kind);
    if (e.subcode == heif_suberror_End_of_data || boxes_cut_short(data, size))
        return smp_fail(err, SMP_E_FORMAT, "%s: %s file truncated after %s", name, kind,
                        smp_human_size(size, buf));
    if (e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype)
        return smp_fail(err, SMP_E_UNSUPPORTED, "%s: a %s file libheif cannot decode (%s)",
                        name, kind, e.message ? e.message : "unsupported feature");
    return smp_fail(err, SMP_E_FORMAT, "%s: damaged %s file (%s)", name, kind,
                    e.message && *e.message ? e.message : "unreadable");
}

static smp_status read_icc(const char *name, const struct heif_image_handle *h,
                           const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    enum heif_color_profile_type type = heif_image_handle_get_color_profile_type(h);
    if (type != heif_color_profile_type_prof && type != heif_color_profile_type_rICC)
        return SMP_OK;
    size_t len = heif_image_handle_get_raw_color_profile_size(h), max_icc = smp_max_icc_bytes(limits);
    char b1[32], b2[32];
    if (len == 0)
        return SMP_OK;
    if (len > max_icc)
        return smp_fail(err, SMP_E_LIMIT, "%s: the embedded colour profile is %s, over the %s limit",
                        name, smp_human_size(len, b1), smp_human_size(max_icc, b2));
    img->icc = malloc(len);
    if (!img->icc)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for the colour profile", name);
    struct heif_error e = heif_image_handle_get_raw_color_profile(h, img->icc);
    if (e.code != heif_error_Ok) {
        free(img->icc);
        img->icc = NULL;
        img->icc_damaged = 1; /* colour.c warns and falls back to sRGB */
        return SMP_OK;
    }
    img->icc_size = len;
    return SMP_OK;
}

/* Samples of `bits` (9..16) in 16-bit words, scaled in place to 0..65535
 * (v * 65535 / (2^bits - 1), rounded), as PNG and TIFF 16-bit samples are. */
static void widen_row(uint16_t *row, size_t n, int bits)
{
    if (bits >= 16)
        return;
    uint32_t max = ((uint32_t)1 << bits) - 1;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = row[i] > max ? max : row[i];
        row[i] = (uint16_t)((v * 65535u + max / 2) / max);
    }
}

static smp_status heif_run(const char *name, const unsigned char *data, size_t size,
                           struct heif_context *ctx, const smp_load_limits *limits, smp_image *img,
                           smp_error *err)
{
    const char *kind = "HEIC";
    struct heif_image_handle *h = NULL;
    struct heif_image *him = NULL;
    struct heif_decoding_options *opts = NULL;
    smp_status st = SMP_OK;
    if (derived_loop(data, size))
        return smp_fail(err, SMP_E_FORMAT,
                        "%s: damaged %s file (its image is made from itself, or from images nested over %d deep)",
                        name, kind, DERIVED_MAX_DEPTH);
    struct heif_error e = heif_context_read_from_memory_without_copy(ctx, data, size, NULL);
    if (e.code == heif_error_Ok)
        e = heif_context_get_primary_image_handle(ctx, &h);
    if (e.code != heif_error_Ok)
        return heif_failed(name, kind, data, size, e, err);

    /* The size as displayed (after irot), from the header: the limit is
     * checked before anything is decoded. */
    int w = heif_image_handle_get_width(h), hh = heif_image_handle_get_height(h);
    size_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : SMP_DEFAULT_MAX_PIXELS;
    size_t n = 0;
    char buf[32];
    if (w <= 0 || hh <= 0)
        st = smp_fail(err, SMP_E_FORMAT, "%s: damaged %s file (no image size)", name, kind);
    else if (smp_mul_size((size_t)w, (size_t)hh, &n) != 0 || n > max_pixels)
        st = smp_fail(err, SMP_E_LIMIT, "%s: %d x %d pixels is over the %s limit", name, w, hh,
                      smp_megapixels(max_pixels, buf));
    if (st == SMP_OK)
        st = read_icc(name, h, limits, img, err);
    if (st != SMP_OK) {
        heif_image_handle_release(h);
        return st;
    }

    int alpha = heif_image_handle_has_alpha_channel(h);
    int deep = heif_image_handle_get_luma_bits_per_pixel(h) > 8;
    int le = host_is_little_endian();
    enum heif_chroma chroma =
        !deep ? (alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB)
        : alpha ? (le ? heif_chroma_interleaved_RRGGBBAA_LE : heif_chroma_interleaved_RRGGBBAA_BE)
                : (le ? heif_chroma_interleaved_RRGGBB_LE : heif_chroma_interleaved_RRGGBB_BE);
    opts = heif_decoding_options_alloc();
    if (!opts) {
        heif_image_handle_release(h);
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory decoding the %s photo", name,
                        kind);
    }
    opts->ignore_transformations = 0; /* libheif turns the photo upright (see top) */
    if (opts->version >= 3)
        opts->strict_decoding = 1;
    e = heif_decode_image(h, &him, heif_colorspace_RGB, chroma, opts);
    heif_decoding_options_free(opts);
    heif_image_handle_release(h);
    if (e.code != heif_error_Ok)
        return heif_failed(name, kind, data, size, e, err);

    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(him, heif_channel_interleaved, &stride);
    int pw = heif_image_get_width(him, heif_channel_interleaved);
    int ph = heif_image_get_height(him, heif_channel_interleaved);
    int bits = heif_image_get_bits_per_pixel_range(him, heif_channel_interleaved);
    size_t spp = alpha ? 4 : 3, bps = deep ? 2 : 1, row_bytes = (size_t)pw * spp * bps;
    /* bits: 9..16 in the 16-bit words of a deep image (widen_row divides
     * by 2^bits - 1). */
    if (!plane || pw <= 0 || ph <= 0 || (size_t)pw * (size_t)ph > n || stride < 0 ||
        (size_t)stride < row_bytes || (deep && (bits < 9 || bits > 16))) {
        heif_image_release(him);
        return smp_fail(err, SMP_E_FORMAT, "%s: damaged %s file (unexpected decoded layout)",
                        name, kind);
    }
    smp_reduction plan = smp_plan_reduction(limits, 1, (size_t)pw, (size_t)ph);
    smp_rows r;
    st = smp_rows_start(&r, name, &plan, (size_t)pw, (size_t)ph, 3, spp, alpha, bps, err);
    uint16_t *wide = NULL;
    if (st == SMP_OK && deep && !(wide = malloc(row_bytes))) {
        smp_rows_free(&r);
        st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory for a row of pixels", name);
    }
    if (st != SMP_OK) {
        heif_image_release(him);
        return st;
    }
    for (int y = 0; y < ph; y++) {
        const uint8_t *row = plane + (size_t)y * (size_t)stride;
        if (deep) {
            memcpy(wide, row, row_bytes);
            widen_row(wide, (size_t)pw * spp, bits);
            row = (const uint8_t *)wide;
        }
        smp_rows_take(&r, row);
    }
    free(wide);
    heif_image_release(him);
    return smp_rows_finish(&r, name, 1, img, err);
}

smp_status smp_module_heif_decode(const char *name, const unsigned char *data, size_t size,
                                  const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    memset(img, 0, sizeof *img);
    struct heif_context *ctx = heif_context_alloc();
    if (!ctx)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory starting the HEIC decoder", name);
    smp_status st = heif_run(name, data, size, ctx, limits, img, err);
    heif_context_free(ctx);
    if (st != SMP_OK) {
        smp_image_release(img);
        return st;
    }
    img->format = SMP_FORMAT_HEIF;
    return SMP_OK;
}
