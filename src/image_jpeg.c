/*
 * image_jpeg.c: JPEG decoding with libjpeg-turbo (see image.h).
 *
 * In:  the bytes of a JPEG file (baseline or progressive; greyscale, YCbCr or
 *      RGB), with its APP1 EXIF orientation and APP2 ICC profile.
 * Out: 8-bit grey (channels 1) or RGB (channels 3) pixels in display
 *      orientation, the ICC profile bytes, the orientation found; reduced by
 *      the factor f of smp_plan_reduction (limits->analysis_size), decoded
 *      straight to 1/f size by libjpeg-turbo's DCT scaling (scale_num 1,
 *      scale_denom f): an 8x8 block's coefficients give an (8/f)x(8/f)
 *      block, so the full-size pixels are never made. Output size is
 *      ceil(stored size / f), blocks aligned on the stored top-left corner;
 *      orientation is applied after scaling, to the small image.
 * Not: CMYK/YCCK (refused: a consult photo is never CMYK, and its colours
 *      need a press profile we do not have), 12-bit JPEG, lossless JPEG,
 *      mask decoding (limits->mask: masks are PNG), a grid's offsets
 *      (limits->grid: only its factor is used; DCT blocks start at 0).
 *
 * Strictness. libjpeg treats damaged data as a warning and carries on,
 * padding what it could not decode with grey. A half-grey photo would give a
 * confident, wrong hair colour, so these warnings are errors here:
 *   JWRN_JPEG_EOF (data ends early)        -> "truncated after <size>"
 *   JWRN_HIT_MARKER, JWRN_HUFF_BAD_CODE, JWRN_ARITH_BAD_CODE,
 *   JWRN_MUST_RESYNC (entropy data damaged) -> "damaged image data"
 *   JWRN_BOGUS_ICC (profile chunks inconsistent) -> "colour profile damaged"
 * Warnings that leave the pixels intact (extraneous bytes between markers,
 * an unknown JFIF or Adobe version, odd scan parameters) are ignored, as
 * every viewer does. A file cut anywhere, even just before its EOI marker,
 * is "truncated": the Huffman decoder reads ahead past the last block, so the
 * warning cannot tell a lost EOI from lost blocks.
 *
 * Nothing is printed: libjpeg's output_message is replaced by a no-op and
 * its messages are kept for the error text.
 */
#include "image.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "util.h"

/* A progressive JPEG from jpeg_simple_progression has 10 scans; a file with
 * thousands is a known way to make a decoder spin (djpeg has -maxscans for
 * it). 1000 is two orders above any real encoder. */
#define MAX_SCANS 1000

typedef struct jpeg_ctx {
    struct jpeg_error_mgr pub; /* first: libjpeg hands us this pointer */
    jmp_buf jump;
    struct jpeg_progress_mgr progress;
    const char *name;
    size_t size;
    smp_error *err;
    smp_status status;
    unsigned char *pixels; /* owned until handed to the image */
    unsigned char *icc;    /* malloc'd by jpeg_read_icc_profile */
    size_t icc_size;
    const smp_row_sink *sink; /* following the rows (image.h), or NULL */
} jpeg_ctx;

static void silent_output(j_common_ptr cinfo)
{
    (void)cinfo;
}

/* Records the failure in the caller's smp_error and leaves the decoder. */
static void jpeg_bail(jpeg_ctx *c, smp_status status, const char *fmt, const char *detail)
{
    char size[32];
    if (!fmt)
        c->status = smp_fail(c->err, status, "%s: truncated after %s", c->name,
                             smp_human_size(c->size, size));
    else
        c->status = smp_fail(c->err, status, fmt, c->name, detail);
    longjmp(c->jump, 1);
}

static void jpeg_on_error(j_common_ptr cinfo)
{
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    switch (cinfo->err->msg_code) {
    case JERR_OUT_OF_MEMORY:
        jpeg_bail(c, SMP_E_NOMEM, "%s: out of memory decoding the JPEG (%s)", msg);
        break;
    case JERR_IMAGE_TOO_BIG:
        /* "Maximum supported image dimension is 65500 pixels" */
        jpeg_bail(c, SMP_E_LIMIT, "%s: too large for a JPEG (%s)", msg);
        break;
    case JERR_INPUT_EOF:
        jpeg_bail(c, SMP_E_FORMAT, NULL, NULL);
        break;
    default:
        jpeg_bail(c, SMP_E_FORMAT, "%s: damaged JPEG file (%s)", msg);
    }
}

static void jpeg_on_message(j_common_ptr cinfo, int level)
{
    if (level >= 0)
        return; /* trace messages */
    jpeg_ctx *c = (jpeg_ctx *)cinfo->err;
    char msg[JMSG_LENGTH_MAX];
    cinfo->err->format_message(cinfo, msg);
    cinfo->err->num_warnings++;
    switch (cinfo->err->msg_code) {
    case JWRN_JPEG_EOF:
        jpeg_bail(c, SMP_E_FORMAT, NULL, NULL);
        break;
    case JWRN_HIT_MARKER:
    case JWRN_HUFF_BAD_CODE:
    case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC:
        jpeg_bail(c, SMP_E_FORMAT, "%s: damaged image data (%s)", msg);
        break;
    case JWRN_BOGUS_ICC:
        jpeg_bail(c, SMP_E_FORMAT, "%s: the embedded colour profile is damaged (%s)", msg);
        break;
    default:
        break; /* pixels unaffected; see the file comment */
    }
}

static void jpeg_on_progress(j_common_ptr cinfo)
{
    if (!cinfo->is_decompressor)
        return;
    j_decompress_ptr d = (j_decompress_ptr)cinfo;
    if (d->input_scan_number > MAX_SCANS) {
        char detail[64];
        snprintf(detail, sizeof detail, "more than %d progressive scans", MAX_SCANS);
        jpeg_bail((jpeg_ctx *)cinfo->err, SMP_E_FORMAT, "%s: damaged JPEG file (%s)", detail);
    }
}

/* The bytes of ICC profile data in the saved APP2 "ICC_PROFILE\0" chunks
 * (each: the 12-byte name, sequence number, count, then data; ICC.1:2010
 * annex B.4). */
static size_t jpeg_icc_bytes(j_decompress_ptr d)
{
    size_t total = 0;
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 2 && m->data_length >= 14 &&
            memcmp(m->data, "ICC_PROFILE\0", 12) == 0)
            total += m->data_length - 14; /* at most 0xFFFF per marker: no overflow */
    return total;
}

/* EXIF orientation from the first APP1 "Exif\0\0" segment, 1 when none. */
static int jpeg_orientation(j_decompress_ptr d)
{
    for (jpeg_saved_marker_ptr m = d->marker_list; m; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0)
            return smp_exif_orientation(m->data + 6, m->data_length - 6);
    }
    return 1;
}

/* Whether the pixels stay as stored for the conversion to turn (image.h):
 * any orientation but 1, or 1, which needs no turning anyway. */
static int keeps_stored(const smp_load_limits *limits, int orientation)
{
    return limits && limits->keep_stored && orientation >= 1 && orientation <= 8;
}

/* smp_image.turn for pixels kept as stored with this orientation. */
static int stored_turn(int orientation)
{
    return orientation == 1 ? 0 : orientation;
}

/* The decoder proper. It holds the setjmp; everything it allocates is kept
 * in *c so the caller can free it whichever way this returns. */
static smp_status jpeg_run(jpeg_ctx *c, struct jpeg_decompress_struct *d, const unsigned char *data,
                           const smp_load_limits *limits, int *orientation,
                           int *factor)
{
    if (setjmp(c->jump))
        return c->status;
    jpeg_create_decompress(d);
    d->progress = &c->progress;
    jpeg_mem_src(d, data, (unsigned long)c->size);
    jpeg_save_markers(d, JPEG_APP0 + 1, 0xFFFF);
    jpeg_save_markers(d, JPEG_APP0 + 2, 0xFFFF);
    jpeg_read_header(d, TRUE);

    /* Size first, before anything big is allocated. */
    size_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : SMP_DEFAULT_MAX_PIXELS;
    size_t n = SIZE_MAX; /* stays when width x height overflows */
    char buf[32];
    char b3[32];
    if (smp_mul_size(d->image_width, d->image_height, &n) != 0 || n > max_pixels)
        return smp_fail(c->err, SMP_E_LIMIT, "%s: too large (%s): %u x %u pixels is over the %s limit",
                        c->name, smp_megapixels(n, b3), (unsigned)d->image_width,
                        (unsigned)d->image_height, smp_megapixels(max_pixels, buf));

    int channels;
    switch (d->jpeg_color_space) {
    case JCS_GRAYSCALE: channels = 1; d->out_color_space = JCS_GRAYSCALE; break;
    case JCS_YCbCr:
    case JCS_RGB: channels = 3; d->out_color_space = JCS_RGB; break;
    case JCS_CMYK:
    case JCS_YCCK:
        return smp_fail(c->err, SMP_E_UNSUPPORTED,
                        "%s: CMYK JPEG is not supported (save it as RGB)", c->name);
    default:
        return smp_fail(c->err, SMP_E_UNSUPPORTED,
                        "%s: a JPEG with %d colour channels is not supported (save it as RGB)",
                        c->name, d->num_components);
    }

    /* The profile's size from its saved APP2 chunks, before
     * jpeg_read_icc_profile allocates room for all of them. */
    size_t max_icc = smp_max_icc_bytes(limits), icc_total = jpeg_icc_bytes(d);
    char b2[32];
    if (icc_total > max_icc)
        return smp_fail(c->err, SMP_E_LIMIT,
                        "%s: the embedded colour profile is %s, over the %s limit", c->name,
                        smp_human_size(icc_total, buf), smp_human_size(max_icc, b2));
    JOCTET *icc = NULL;
    unsigned int icc_len = 0;
    if (jpeg_read_icc_profile(d, &icc, &icc_len)) {
        c->icc = icc;
        c->icc_size = icc_len;
        if (c->icc_size > max_icc)
            return smp_fail(c->err, SMP_E_LIMIT,
                            "%s: the embedded colour profile is %s, over the %s limit", c->name,
                            smp_human_size(c->icc_size, buf), smp_human_size(max_icc, b2));
    }
    *orientation = jpeg_orientation(d);

    /* Reduction: libjpeg-turbo scales by any n/8; we use 1/1, 1/2, 1/4,
     * 1/8, the sizes its IDCT produces directly. */
    smp_reduction plan = smp_plan_reduction(limits, *orientation, d->image_width, d->image_height);
    *factor = plan.factor;
    d->scale_num = 1;
    d->scale_denom = (unsigned)plan.factor;
    jpeg_calc_output_dimensions(d);
    jpeg_start_decompress(d);
    size_t stride = (size_t)d->output_width * (size_t)channels, bytes;
    if (smp_mul_size(stride, d->output_height, &bytes) != 0)
        return smp_fail(c->err, SMP_E_LIMIT, "%s: too large to decode", c->name);
    c->pixels = smp_work_alloc(limits ? limits->ws : NULL, bytes); /* back in smp_image_release */
    if (!c->pixels)
        return smp_fail(c->err, SMP_E_NOMEM, "%s: out of memory for %s of pixels", c->name,
                        smp_human_size(bytes, buf));
    if (limits && limits->sink && keeps_stored(limits, *orientation)) {
        smp_image stored = {.width = (int)d->output_width,
                            .height = (int)d->output_height,
                            .channels = channels,
                            .bits = 8,
                            .stride = stride,
                            .pixels = c->pixels,
                            .format = SMP_FORMAT_JPEG,
                            .orientation = *orientation,
                            .icc = c->icc,
                            .icc_size = c->icc_size,
                            .ws = limits->ws,
                            .turn = stored_turn(*orientation)};
        if (limits->sink->begin(limits->sink->ctx, &stored))
            c->sink = limits->sink;
    }
    /* The follower hears every 8 rows: a note costs an atomic store (a
     * call only when the follower sleeps, colour.c), and the rows it has
     * still to take when the decoder ends are what the decode waits for. */
    while (d->output_scanline < d->output_height) {
        JSAMPROW row = c->pixels + (size_t)d->output_scanline * stride;
        jpeg_read_scanlines(d, &row, 1);
        if (c->sink && (d->output_scanline % 8 == 0 || d->output_scanline == d->output_height))
            c->sink->rows(c->sink->ctx, (int)d->output_scanline);
    }
    /* No jpeg_finish_decompress: after the last scanline it would only read
     * up to the EOI marker, which tells us nothing more about the pixels. */
    return SMP_OK;
}

smp_status smp_image_decode_jpeg(const char *name, const unsigned char *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    memset(img, 0, sizeof *img);
    if (size == 0)
        return smp_fail(err, SMP_E_FORMAT, "%s: the file is empty", name);
    if (size > ULONG_MAX) /* jpeg_mem_src takes an unsigned long */
        return smp_fail(err, SMP_E_LIMIT, "%s: file too large", name);

    jpeg_ctx c;
    struct jpeg_decompress_struct d;
    memset(&c, 0, sizeof c);
    memset(&d, 0, sizeof d);
    d.err = jpeg_std_error(&c.pub);
    c.pub.error_exit = jpeg_on_error;
    c.pub.emit_message = jpeg_on_message;
    c.pub.output_message = silent_output;
    c.progress.progress_monitor = jpeg_on_progress;
    c.name = name;
    c.size = size;
    c.err = err;

    smp_workspace *ws = limits ? limits->ws : NULL;
    int orientation = 1, factor = 1;
    smp_status st = jpeg_run(&c, &d, data, limits, &orientation, &factor);
    if (c.sink) /* before the pixels are turned or freed */
        c.sink->end(c.sink->ctx);
    int width = (int)d.output_width, height = (int)d.output_height;
    int stored_w = (int)d.image_width, stored_h = (int)d.image_height;
    int channels = d.out_color_space == JCS_GRAYSCALE ? 1 : 3;
    jpeg_destroy_decompress(&d);
    if (st != SMP_OK) {
        smp_work_free(ws, c.pixels);
        free(c.icc);
        return st;
    }

    if (keeps_stored(limits, orientation))
        img->turn = stored_turn(orientation); /* the colour conversion turns (image.h) */
    else
        st = smp_image_orient(name, orientation, (size_t)channels, &c.pixels, NULL, &width, &height, ws, err);
    if (st != SMP_OK) {
        smp_work_free(ws, c.pixels);
        free(c.icc);
        return st;
    }
    img->width = width;
    img->height = height;
    img->channels = channels;
    img->bits = 8;
    img->stride = (size_t)width * (size_t)channels;
    img->pixels = c.pixels;
    img->format = SMP_FORMAT_JPEG;
    img->orientation = orientation;
    smp_scale_set(&img->scale, orientation, stored_w, stored_h, factor, 0, 0);
    img->icc = c.icc;
    img->icc_size = c.icc_size;
    return SMP_OK;
}
