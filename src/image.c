/*
 * image.c: the `load` stage's front door (see image.h).
 *
 * In:  a path or the bytes of a photo.
 * Out: an smp_image from image_jpeg.c, image_png.c or, when built in,
 *      image_heif.c, image_tiff.c, image_webp.c, chosen by the magic
 *      bytes (never the file name); what the decoders share: the EXIF
 *      orientation helpers, the ICC size limit, the "100 MP" wording, and
 *      the reduction plan (factor, block grid) every decoder follows, and
 *      the row reducer (smp_rows) of the PNG, TIFF, HEIF and WebP decoders.
 * Not: decoding itself, colour management, the JPEG reduction (DCT
 *      scaling, image_jpeg.c).
 */
#include "image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* PNG signature, ISO/IEC 15948 section 5.2. */
static const unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static int brand_in(const unsigned char *b, const char *const *list)
{
    for (; *list; list++)
        if (memcmp(b, *list, 4) == 0)
            return 1;
    return 0;
}

/* An ISO base media file (ISO/IEC 14496-12 4.3) whose "ftyp" box names a
 * HEIF brand (ISO/IEC 23008-12 annex B: heic, heix, heim, heis, hevc, hevx,
 * mif1, msf1) or an AVIF one (AV1 Image File Format 1.1 section 6: avif,
 * avis), as its major brand or among the compatible ones. AVIF files also
 * list mif1, so an AVIF brand anywhere wins. */
static smp_image_format heif_brand(const unsigned char *p, size_t size)
{
    static const char *const avif[] = {"avif", "avis", NULL};
    static const char *const heif[] = {"heic", "heix", "heim", "heis", "hevc", "hevx",
                                       "mif1", "msf1", NULL};
    if (size < 12 || memcmp(p + 4, "ftyp", 4) != 0)
        return SMP_FORMAT_UNKNOWN;
    size_t box = (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
    if (box < 16 || box > size)
        box = size < 16 ? 12 : size; /* a cut or odd box: look at what is there */
    int is_heif = 0;
    for (size_t at = 8; at + 4 <= box && at < 8 + 4 * 64; at += at == 8 ? 8 : 4) {
        if (brand_in(p + at, avif))
            return SMP_FORMAT_AVIF;
        is_heif |= brand_in(p + at, heif);
    }
    return is_heif ? SMP_FORMAT_HEIF : SMP_FORMAT_UNKNOWN;
}

smp_image_format smp_image_sniff(const void *data, size_t size)
{
    const unsigned char *p = data;
    if (!p)
        return SMP_FORMAT_UNKNOWN;
    /* SOI followed by the first marker's 0xFF (ITU-T T.81 B.1.1.2). */
    if (size >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return SMP_FORMAT_JPEG;
    if (size >= 8 && memcmp(p, png_signature, 8) == 0)
        return SMP_FORMAT_PNG;
    /* TIFF 6.0 section 2: byte order "II" or "MM", then 42 in that order. */
    if (size >= 4 && ((p[0] == 'I' && p[1] == 'I' && p[2] == 42 && p[3] == 0) ||
                      (p[0] == 'M' && p[1] == 'M' && p[2] == 0 && p[3] == 42)))
        return SMP_FORMAT_TIFF;
    /* RIFF container (RFC 9649 section 2.5): "RIFF", size, "WEBP". */
    if (size >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return SMP_FORMAT_WEBP;
    return heif_brand(p, size);
}

const char *smp_photo_format(const void *head, size_t size)
{
    smp_image_format f = smp_image_sniff(head, size);
    return f == SMP_FORMAT_UNKNOWN ? NULL : smp_image_format_name(f);
}

const char *smp_image_format_name(smp_image_format format)
{
    switch (format) {
    case SMP_FORMAT_JPEG: return "jpeg";
    case SMP_FORMAT_PNG: return "png";
    case SMP_FORMAT_HEIF: return "heif";
    case SMP_FORMAT_AVIF: return "avif";
    case SMP_FORMAT_TIFF: return "tiff";
    case SMP_FORMAT_WEBP: return "webp";
    case SMP_FORMAT_UNKNOWN: break;
    }
    return "unknown";
}

#ifdef SMP_WITH_HEIF
#define SMP_LIST_HEIF ", HEIC"
#else
#define SMP_LIST_HEIF ""
#endif
#ifdef SMP_WITH_TIFF
#define SMP_LIST_TIFF ", TIFF"
#else
#define SMP_LIST_TIFF ""
#endif
#ifdef SMP_WITH_WEBP
#define SMP_LIST_WEBP ", WebP"
#else
#define SMP_LIST_WEBP ""
#endif

const char *smp_image_formats_built_in(void)
{
    /* "JPEG, PNG, HEIC, TIFF, WebP" without the last comma's "or": the
     * message below keeps its old wording "not a JPEG or PNG file". */
    return "JPEG, PNG" SMP_LIST_HEIF SMP_LIST_TIFF SMP_LIST_WEBP;
}

/* A hint for a photo in a format this build does not read: iPhones save
 * HEIC by default, web downloads are often WebP, clinic cameras save TIFF.
 * Reached only when that decoder was not built in (the dispatch below). */
static const char *format_hint(const unsigned char *p, size_t size)
{
    switch (smp_image_sniff(p, size)) {
    case SMP_FORMAT_HEIF: return " (it is a HEIC photo: export it as JPEG)";
    case SMP_FORMAT_WEBP: return " (it is a WebP image: export it as JPEG)";
    case SMP_FORMAT_TIFF: return " (it is a TIFF image: export it as JPEG)";
    default: return "";
    }
}

/* The refusal of a file in no format this build reads. */
static smp_status unknown_format(const char *name, const void *data, size_t size, smp_error *err)
{
    /* The old wording first ("not a JPEG or PNG file": scripts and tests
     * match it), then what else this build reads: " (nor HEIC, TIFF or WebP)". */
    char more[64] = "";
    const char *extra = smp_image_formats_built_in() + strlen("JPEG, PNG");
    if (*extra) {
        snprintf(more, sizeof more, " (nor %s)", extra + 2);
        char *last = strrchr(more, ',');
        if (last) {
            memmove(last + 3, last + 1, strlen(last + 1) + 1);
            memcpy(last, " or", 3);
        }
    }
    return smp_fail(err, SMP_E_FORMAT, "%s: not a JPEG or PNG file%s%s", name, more,
                    format_hint(data, size));
}

smp_status smp_image_load_memory(const char *name, const void *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    memset(img, 0, sizeof *img);
    if (!name)
        name = "photo";
    if (!data || size == 0)
        return smp_fail(err, SMP_E_FORMAT, "%s: the file is empty", name);
    smp_status st = SMP_E_FORMAT;
    switch (smp_image_sniff(data, size)) {
    case SMP_FORMAT_JPEG:
        st = smp_image_decode_jpeg(name, data, size, limits, img, err);
        break;
    case SMP_FORMAT_PNG:
        st = smp_image_decode_png(name, data, size, limits, img, err);
        break;
#ifdef SMP_WITH_HEIF
    case SMP_FORMAT_HEIF:
        st = smp_image_decode_heif(name, data, size, limits, img, err);
        break;
#endif
    case SMP_FORMAT_AVIF:
        /* Not read, although libheif could: on a damaged AVIF, Debian 12's
         * AV1 decoder (dav1d, under libheif 1.15.1) prints to stderr and
         * loses memory (found by tests/fuzz, tests/fuzz/README.md), and the
         * library must do neither. Phones save HEIC or JPEG. */
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: an AVIF image, which smpmatch does not read: save it as JPEG or HEIC",
                        name);
#ifdef SMP_WITH_TIFF
    case SMP_FORMAT_TIFF:
        st = smp_image_decode_tiff(name, data, size, limits, img, err);
        break;
#endif
#ifdef SMP_WITH_WEBP
    case SMP_FORMAT_WEBP:
        st = smp_image_decode_webp(name, data, size, limits, img, err);
        break;
#endif
    default:
        return unknown_format(name, data, size, err);
    }
    if (st == SMP_OK)
        img->ws = limits ? limits->ws : NULL; /* any decoder's pixels may go back to it */
    return st;
}

smp_status smp_image_load_file(const char *path, const smp_load_limits *limits, smp_image *img,
                               smp_error *err)
{
    memset(img, 0, sizeof *img);
    size_t max = limits && limits->max_file_bytes ? limits->max_file_bytes
                                                  : SMP_DEFAULT_MAX_FILE_BYTES;
    unsigned char *data = NULL;
    size_t size = 0;
    smp_status st = smp_read_file(path, max, &data, &size, err);
    if (st != SMP_OK)
        return st;
    st = smp_image_load_memory(path, data, size, limits, img, err);
    free(data);
    return st;
}

void smp_image_release(smp_image *img)
{
    if (!img)
        return;
    smp_work_free(img->ws, img->pixels);
    free(img->valid);
    free(img->icc);
    memset(img, 0, sizeof *img);
}

int smp_choose_factor(size_t long_side, int analysis_size)
{
    if (analysis_size <= 0)
        return 1;
    for (int f = 8; f > 1; f /= 2)
        if ((long_side + (size_t)f - 1) / (size_t)f >= (size_t)analysis_size)
            return f;
    return 1;
}

/* Which displayed axes run against the stored ones, from the EXIF 2.32
 * orientation table (see orient_walk below): x for 2 (mirror), 3 (180), 6
 * (90 clockwise), 7 (transverse); y for 3, 4 (flip), 7, 8 (90 anticlockwise). */
static int x_reversed(int o)
{
    return o == 2 || o == 3 || o == 6 || o == 7;
}

static int y_reversed(int o)
{
    return o == 3 || o == 4 || o == 7 || o == 8;
}

/* An axis of length n cut into blocks of f starting at -off: reversing the
 * axis turns the offset into w*f - n - off (w = the number of blocks). The
 * same formula turns it back. */
static int flip_offset(int n, int f, int off)
{
    int w = (int)(((long)n + off + f - 1) / f);
    return (int)((long)w * f - n - off);
}

void smp_scale_set(smp_scale *s, int orientation, int stored_w, int stored_h, int factor,
                   int stored_off_x, int stored_off_y)
{
    int swap = orientation >= 5 && orientation <= 8;
    if (factor < 1)
        factor = 1;
    s->factor = factor;
    s->full_width = swap ? stored_h : stored_w;
    s->full_height = swap ? stored_w : stored_h;
    int ox = swap ? stored_off_y : stored_off_x; /* the stored axis shown horizontally */
    int oy = swap ? stored_off_x : stored_off_y;
    s->off_x = x_reversed(orientation) ? flip_offset(s->full_width, factor, ox) : ox;
    s->off_y = y_reversed(orientation) ? flip_offset(s->full_height, factor, oy) : oy;
}

void smp_scale_stored_offsets(const smp_scale *g, int orientation, int *stored_off_x,
                              int *stored_off_y)
{
    int f = g->factor > 1 ? g->factor : 1;
    int ox = x_reversed(orientation) ? flip_offset(g->full_width, f, g->off_x) : g->off_x;
    int oy = y_reversed(orientation) ? flip_offset(g->full_height, f, g->off_y) : g->off_y;
    int swap = orientation >= 5 && orientation <= 8;
    *stored_off_x = swap ? oy : ox;
    *stored_off_y = swap ? ox : oy;
}

smp_reduction smp_plan_reduction(const smp_load_limits *limits, int orientation, size_t w, size_t h)
{
    smp_reduction r = {1, 0, 0, w, h};
    if (limits && limits->grid && limits->grid->factor > 1) {
        r.factor = limits->grid->factor;
        smp_scale_stored_offsets(limits->grid, orientation, &r.off_x, &r.off_y);
        /* A mask of another size than its photo: the grid means nothing for
         * it (the caller refuses it by size), keep the offsets in range. */
        r.off_x %= r.factor;
        r.off_y %= r.factor;
    } else if (limits) {
        r.factor = smp_choose_factor(w > h ? w : h, limits->analysis_size);
    }
    r.width = (w + (size_t)r.off_x + (size_t)r.factor - 1) / (size_t)r.factor;
    r.height = (h + (size_t)r.off_y + (size_t)r.factor - 1) / (size_t)r.factor;
    return r;
}

size_t smp_max_icc_bytes(const smp_load_limits *limits)
{
    return limits && limits->max_icc_bytes ? limits->max_icc_bytes : SMP_DEFAULT_MAX_ICC_BYTES;
}

const char *smp_megapixels(size_t pixels, char buf[32])
{
    snprintf(buf, 32, "%g MP", (double)pixels / 1e6);
    return buf;
}

smp_status smp_image_orient(const char *name, int orientation, size_t bpp, unsigned char **pixels,
                            unsigned char **valid, int *width, int *height, smp_workspace *ws,
                            smp_error *err)
{
    if (orientation == 1)
        return SMP_OK;
    int w = 0, h = 0, vw = 0, vh = 0;
    unsigned char *p = smp_orient_pixels(*pixels, *width, *height, bpp, orientation, &w, &h, ws);
    int has_mask = valid && *valid;
    unsigned char *v = NULL;
    if (p && has_mask)
        v = smp_orient_pixels(*valid, *width, *height, 1, orientation, &vw, &vh, NULL);
    if (!p || (has_mask && !v)) {
        smp_work_free(ws, p);
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory turning the photo upright", name);
    }
    smp_work_free(ws, *pixels);
    *pixels = p;
    if (v) {
        free(*valid);
        *valid = v;
    }
    *width = w;
    *height = h;
    return SMP_OK;
}

/* (image.h) Derived from the EXIF 2.32 (CIPA DC-008) Orientation table, e.g. for 6:
 * "the 0th row is the visual right-hand side, the 0th column is the visual
 * top", so source (sx, sy) shows at x = H-1-sy, y = sx. */
void smp_orient_walk(int orientation, ptrdiff_t w, ptrdiff_t h, ptrdiff_t sy, ptrdiff_t *start,
                     ptrdiff_t *step)
{
    ptrdiff_t ow = orientation >= 5 ? h : w; /* output width */
    switch (orientation) {
    case 2: *start = sy * w + w - 1; *step = -1; break;             /* mirror left-right */
    case 3: *start = (h - 1 - sy) * w + w - 1; *step = -1; break;   /* rotate 180 */
    case 4: *start = (h - 1 - sy) * w; *step = 1; break;            /* mirror top-bottom */
    case 5: *start = sy; *step = ow; break;                          /* transpose */
    case 6: *start = h - 1 - sy; *step = ow; break;                  /* rotate 90 clockwise */
    case 7: *start = (w - 1) * ow + h - 1 - sy; *step = -ow; break;  /* transverse */
    case 8: *start = (w - 1) * ow + sy; *step = -ow; break;          /* rotate 90 anticlockwise */
    default: *start = sy * w; *step = 1; break;                      /* 1: as stored */
    }
}

unsigned char *smp_orient_pixels(const unsigned char *src, int width, int height, size_t bpp,
                                 int orientation, int *out_width, int *out_height,
                                 smp_workspace *ws)
{
    size_t n, bytes;
    if (!src || width <= 0 || height <= 0 || bpp == 0 ||
        smp_mul_size((size_t)width, (size_t)height, &n) != 0 || smp_mul_size(n, bpp, &bytes) != 0)
        return NULL;
    if (orientation < 1 || orientation > 8)
        orientation = 1;
    unsigned char *dst = smp_work_alloc(ws, bytes);
    if (!dst)
        return NULL;
    /* In 64 x 64 tiles: a quarter turn writes down output columns, and a
     * tile keeps those writes within a few hundred cache lines. Measured on
     * a 12 MP RGB quarter turn (busy 2-core VM, best of 15): 33-58 ms tiled,
     * 47-62 ms untiled; the bigger win is pixel_alloc's huge pages. */
    enum { TILE = 64 };
    for (int ty = 0; ty < height; ty += TILE) {
        int y_end = ty + TILE < height ? ty + TILE : height;
        for (int tx = 0; tx < width; tx += TILE) {
            int x_end = tx + TILE < width ? tx + TILE : width;
            for (int sy = ty; sy < y_end; sy++) {
                ptrdiff_t start, step;
                smp_orient_walk(orientation, width, height, sy, &start, &step);
                const unsigned char *s = src + ((size_t)sy * (size_t)width + (size_t)tx) * bpp;
                ptrdiff_t at = start + (ptrdiff_t)tx * step;
                for (int sx = tx; sx < x_end; sx++, at += step, s += bpp)
                    memcpy(dst + (size_t)at * bpp, s, bpp);
            }
        }
    }
    *out_width = orientation >= 5 ? height : width;
    *out_height = orientation >= 5 ? width : height;
    return dst;
}

/* TIFF integers in the block's own byte order (TIFF 6.0 section 2). */
static unsigned tiff_u16(const unsigned char *p, int big)
{
    return big ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static unsigned long tiff_u32(const unsigned char *p, int big)
{
    return big ? (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 | (unsigned long)p[2] << 8 | p[3]
               : (unsigned long)p[3] << 24 | (unsigned long)p[2] << 16 | (unsigned long)p[1] << 8 | p[0];
}

int smp_exif_orientation(const unsigned char *data, size_t size)
{
    if (!data || size < 8)
        return 1;
    int big;
    if (data[0] == 'I' && data[1] == 'I')
        big = 0;
    else if (data[0] == 'M' && data[1] == 'M')
        big = 1;
    else
        return 1;
    if (tiff_u16(data + 2, big) != 42)
        return 1;
    unsigned long ifd = tiff_u32(data + 4, big);
    if (ifd > size || size - ifd < 2)
        return 1;
    unsigned count = tiff_u16(data + ifd, big);
    size_t entry = (size_t)ifd + 2;
    for (unsigned i = 0; i < count && size - entry >= 12; i++, entry += 12) {
        const unsigned char *e = data + entry;
        /* 0x0112 Orientation, type 3 SHORT, count 1 (EXIF 2.32 table 4). */
        if (tiff_u16(e, big) != 0x0112)
            continue;
        if (tiff_u16(e + 2, big) != 3 || tiff_u32(e + 4, big) < 1)
            return 1;
        unsigned v = tiff_u16(e + 8, big);
        return v >= 1 && v <= 8 ? (int)v : 1;
    }
    return 1;
}


/* ------------------------------------------------------------------ */
/* Rows into blocks, for every decoder but JPEG's (see image.h)        */

/* Pixels of the photo in block [i*f - off, (i+1)*f - off) of an axis of n. */
static size_t rows_extent(size_t i, int f, int off, size_t n)
{
    size_t start = i * (size_t)f, end = start + (size_t)f - (size_t)off;
    start = start > (size_t)off ? start - (size_t)off : 0;
    return (end < n ? end : n) - start;
}

unsigned smp_sample_get(const unsigned char *p, size_t bps)
{
    if (bps == 1)
        return *p;
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

void smp_sample_put(unsigned char *p, size_t bps, unsigned v)
{
    if (bps == 1) {
        *p = (unsigned char)v;
    } else {
        uint16_t s = (uint16_t)v;
        memcpy(p, &s, 2);
    }
}

smp_status smp_rows_start(smp_rows *r, const char *name, const smp_reduction *plan, size_t width,
                          size_t height, int cc, size_t spp, int has_alpha, size_t bps,
                          smp_error *err)
{
    return smp_rows_start_with(r, name, plan, width, height, cc, spp, has_alpha, bps, 0, err);
}

smp_status smp_rows_start_with(smp_rows *r, const char *name, const smp_reduction *plan,
                               size_t width, size_t height, int cc, size_t spp, int has_alpha,
                               size_t bps, unsigned flags, smp_error *err)
{
    memset(r, 0, sizeof *r);
    r->plan = *plan;
    r->width = width;
    r->height = height;
    r->cc = cc;
    r->spp = spp;
    r->has_alpha = has_alpha;
    r->bps = bps;
    r->flags = flags;
    r->shift = plan->factor == 8 ? 3 : plan->factor == 4 ? 2 : plan->factor == 2 ? 1 : 0;
    /* Interlace passes revisit every block row, so all their sums stay. */
    r->acc_rows = flags & SMP_ROWS_PASSES ? plan->height : 1;
    int mask = (flags & SMP_ROWS_MASK) != 0;
    size_t npx, bytes, sums, all;
    char buf[32];
    if (smp_mul_size(width, height, &all) != 0 ||
        smp_mul_size(plan->width, plan->height, &npx) != 0 ||
        smp_mul_size(npx, mask ? 1 : (size_t)cc * bps, &bytes) != 0 ||
        smp_mul_size(plan->width * r->acc_rows, (size_t)cc + 1, &sums) != 0)
        return smp_fail(err, SMP_E_LIMIT, "%s: too large to decode", name);
    r->pixels = smp_alloc_work(bytes ? bytes : 1);
    r->valid = mask ? NULL : malloc(npx ? npx : 1);
    if (plan->factor > 1)
        r->acc = calloc(sums ? sums : 1, sizeof *r->acc);
    if (!r->pixels || (!mask && !r->valid) || (plan->factor > 1 && !r->acc)) {
        smp_rows_free(r);
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for %s of pixels", name,
                        smp_human_size(bytes, buf));
    }
    return SMP_OK;
}

/* Whether an input pixel counts: not transparent, and in a mask also some
 * colour sample non-zero. */
static int rows_counts(const smp_rows *r, const unsigned char *p)
{
    size_t px = (size_t)r->cc * r->bps;
    if (r->has_alpha && smp_sample_get(p + px, r->bps) == 0)
        return 0;
    if (!(r->flags & SMP_ROWS_MASK))
        return 1;
    for (size_t b = 0; b < px; b++)
        if (p[b])
            return 1;
    return 0;
}

/* Factor 1: the pixels as they are. A transparent pixel keeps its stored
 * colour (it is flagged, never measured). */
static void rows_copy(smp_rows *r, size_t y, size_t x0, size_t dx, size_t n,
                      const unsigned char *row)
{
    size_t in_px = r->spp * r->bps, i = y * r->width + x0;
    if (r->flags & SMP_ROWS_MASK) {
        for (size_t k = 0; k < n; k++, i += dx, row += in_px)
            r->pixels[i] = rows_counts(r, row) ? 255 : 0;
        return;
    }
    /* The plain copy is most of a full-size TIFF's decode: kept free of
     * the mask's test, with the count in a local. */
    size_t px = (size_t)r->cc * r->bps, transparent = 0;
    unsigned char *out = r->pixels + i * px, *valid = r->valid + i;
    for (size_t k = 0; k < n; k++, out += dx * px, valid += dx, row += in_px) {
        int counts = !r->has_alpha || smp_sample_get(row + px, r->bps) != 0;
        memcpy(out, row, px);
        *valid = (unsigned char)counts;
        transparent += !counts;
    }
    r->transparent += transparent;
}

/* Factor > 1: adds the pixels that count to their blocks' sums. */
static void rows_add(smp_rows *r, size_t y, size_t x0, size_t dx, size_t n,
                     const unsigned char *row)
{
    size_t in_px = r->spp * r->bps, stride = (size_t)r->cc + 1;
    size_t by = (y + (size_t)r->plan.off_y) >> r->shift;
    uint32_t *acc_row = r->acc + (by % r->acc_rows) * r->plan.width * stride;
    if (r->flags & SMP_ROWS_MASK) {
        for (size_t k = 0, x = x0; k < n; k++, x += dx, row += in_px)
            if (rows_counts(r, row))
                acc_row[((x + (size_t)r->plan.off_x) >> r->shift) * stride + (size_t)r->cc]++;
        return;
    }
    size_t alpha_at = (size_t)r->cc * r->bps;
    for (size_t k = 0, x = x0; k < n; k++, x += dx, row += in_px) {
        if (r->has_alpha && smp_sample_get(row + alpha_at, r->bps) == 0)
            continue;
        uint32_t *a = acc_row + ((x + (size_t)r->plan.off_x) >> r->shift) * stride;
        for (int ch = 0; ch < r->cc; ch++)
            a[ch] += smp_sample_get(row + (size_t)ch * r->bps, r->bps);
        a[r->cc]++;
    }
}

/* Turns the sums of block row `by` into pixels and clears them: the
 * average of the counted pixels (sums are uint32: at most 64 samples of
 * 65535); transparent when most of the block is (a mask: in when at least
 * half of it is). */
static void rows_finish_block_row(smp_rows *r, size_t by)
{
    size_t stride = (size_t)r->cc + 1, px = (size_t)r->cc * r->bps;
    size_t bh = rows_extent(by, r->plan.factor, r->plan.off_y, r->height);
    uint32_t *acc_row = r->acc + (by % r->acc_rows) * r->plan.width * stride;
    for (size_t bx = 0; bx < r->plan.width; bx++) {
        uint32_t *a = acc_row + bx * stride, counted = a[r->cc];
        size_t n = bh * rows_extent(bx, r->plan.factor, r->plan.off_x, r->width);
        size_t i = by * r->plan.width + bx;
        int keep = 2 * (size_t)counted >= n;
        if (r->flags & SMP_ROWS_MASK) {
            r->pixels[i] = keep ? 255 : 0;
        } else {
            for (int ch = 0; ch < r->cc; ch++)
                smp_sample_put(r->pixels + i * px + (size_t)ch * r->bps, r->bps,
                               counted ? (a[ch] + counted / 2) / counted : 0);
            r->valid[i] = (unsigned char)keep;
            r->transparent += !keep;
        }
        memset(a, 0, stride * sizeof *a);
    }
}

void smp_rows_take(smp_rows *r, const unsigned char *row)
{
    if (r->y >= r->height || (r->flags & SMP_ROWS_PASSES))
        return;
    size_t y = r->y++;
    if (r->plan.factor == 1) {
        rows_copy(r, y, 0, 1, r->width, row);
        return;
    }
    rows_add(r, y, 0, 1, r->width, row);
    size_t next = y + 1 + (size_t)r->plan.off_y;
    if ((next & ((size_t)r->plan.factor - 1)) == 0 || y + 1 == r->height)
        rows_finish_block_row(r, (y + (size_t)r->plan.off_y) >> r->shift);
}

void smp_rows_take_pass(smp_rows *r, size_t y, size_t x0, size_t dx, size_t n,
                        const unsigned char *row)
{
    if (!(r->flags & SMP_ROWS_PASSES) || y >= r->height || n == 0 || dx == 0 ||
        x0 >= r->width || n - 1 > (r->width - 1 - x0) / dx)
        return;
    if (r->plan.factor == 1)
        rows_copy(r, y, x0, dx, n, row);
    else
        rows_add(r, y, x0, dx, n, row);
    r->taken += n;
}

/* Every block row's sums into pixels, once all passes are in. */
static void rows_finish_passes(smp_rows *r)
{
    if (r->plan.factor > 1)
        for (size_t by = 0; by < r->plan.height; by++)
            rows_finish_block_row(r, by);
}

smp_status smp_rows_finish(smp_rows *r, const char *name, int orientation, smp_image *img,
                           smp_error *err)
{
    int passes = (r->flags & SMP_ROWS_PASSES) != 0;
    if (passes && r->taken != r->width * r->height) { /* fits: checked at the start */
        smp_rows_free(r);
        return smp_fail(err, SMP_E_FORMAT, "%s: the image data stops after %zu of %zu pixels",
                        name, r->taken, r->width * r->height);
    }
    if (!passes && r->y != r->height) {
        smp_rows_free(r);
        return smp_fail(err, SMP_E_FORMAT, "%s: the image data stops after %zu of %zu rows",
                        name, r->y, r->height);
    }
    if (passes)
        rows_finish_passes(r);
    free(r->acc);
    r->acc = NULL;
    if (r->transparent == 0) {
        free(r->valid);
        r->valid = NULL;
    }
    int mask = (r->flags & SMP_ROWS_MASK) != 0;
    int w = (int)r->plan.width, h = (int)r->plan.height;
    size_t bpp = mask ? 1 : (size_t)r->cc * r->bps;
    smp_status st = smp_image_orient(name, orientation, bpp, &r->pixels, &r->valid, &w, &h, NULL, err);
    if (st != SMP_OK) {
        smp_rows_free(r);
        return st;
    }
    img->width = w;
    img->height = h;
    img->channels = mask ? 1 : r->cc;
    img->bits = mask ? 8 : (int)r->bps * 8;
    img->stride = (size_t)w * bpp;
    img->pixels = r->pixels;
    img->valid = r->valid;
    img->orientation = orientation;
    smp_scale_set(&img->scale, orientation, (int)r->width, (int)r->height, r->plan.factor,
                  r->plan.off_x, r->plan.off_y);
    r->pixels = NULL;
    r->valid = NULL;
    return SMP_OK;
}

void smp_rows_free(smp_rows *r)
{
    free(r->acc);
    free(r->pixels);
    free(r->valid);
    r->acc = NULL;
    r->pixels = NULL;
    r->valid = NULL;
}
