/*
 * image_webp.c: WebP decoding with libwebp (see image.h).
 *
 * In:  the bytes of a still WebP file (RFC 9649), lossy or lossless, with
 *      or without alpha, simple or extended (VP8X) with its ICCP (ICC
 *      profile) and EXIF chunks.
 * Out: 8-bit RGB pixels, reduced by the factor of smp_plan_reduction with
 *      smp_rows (block averages of the decoded values, as for PNG) after a
 *      full decode (libwebp's own scaling resamples, which is not the block
 *      contract), then turned upright for the EXIF chunk's Orientation. An
 *      alpha channel is used as validity, as for PNG.
 * Not: animated WebP (refused: which frame would be the photo?), mask
 *      decoding, XMP.
 *
 * libwebp keeps no global state and prints nothing; the demuxer that finds
 * the chunks and the decoder both work on the caller's bytes.
 *
 * Where it lives. In a shared build this file is the module
 * libsmpmatch-webp.so, entry point smp_module_webp_decode, loaded by
 * smp_image_decode_webp (src/module.c) at the first WebP photo: a
 * program that never reads one never maps its library. A static build
 * links it into libsmpmatch.
 */
#include "image.h"

#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

#include "util.h"

static smp_status truncated(const char *name, size_t size, smp_error *err)
{
    char buf[32];
    return smp_fail(err, SMP_E_FORMAT, "%s: WebP file truncated after %s", name,
                    smp_human_size(size, buf));
}

/* The ICCP chunk (copied, within the size limit) and the EXIF chunk's
 * orientation. Some writers start the EXIF payload with the JPEG APP1
 * "Exif\0\0" prefix, which RFC 9649 does not have: both are read. */
static smp_status read_chunks(const char *name, const unsigned char *data, size_t size,
                              const smp_load_limits *limits, smp_image *img, int *orientation,
                              smp_error *err)
{
    WebPData wd = {data, size};
    WebPDemuxState state = WEBP_DEMUX_PARSE_ERROR;
    WebPDemuxer *dmx = WebPDemuxPartial(&wd, &state);
    if (!dmx || state != WEBP_DEMUX_DONE) {
        WebPDemuxDelete(dmx);
        if (state == WEBP_DEMUX_PARSING_HEADER || state == WEBP_DEMUX_PARSED_HEADER)
            return truncated(name, size, err);
        return smp_fail(err, SMP_E_FORMAT, "%s: damaged WebP file (bad chunk layout)", name);
    }
    uint32_t flags = WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS);
    WebPChunkIterator it;
    smp_status st = SMP_OK;
    if ((flags & ICCP_FLAG) && WebPDemuxGetChunk(dmx, "ICCP", 1, &it)) {
        size_t len = it.chunk.size, max_icc = smp_max_icc_bytes(limits);
        char b1[32], b2[32];
        if (len > max_icc)
            st = smp_fail(err, SMP_E_LIMIT, "%s: the embedded colour profile is %s, over the %s limit",
                          name, smp_human_size(len, b1), smp_human_size(max_icc, b2));
        else if (len > 0 && !(img->icc = malloc(len)))
            st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory for the colour profile", name);
        else if (len > 0) {
            memcpy(img->icc, it.chunk.bytes, len);
            img->icc_size = len;
        }
        WebPDemuxReleaseChunkIterator(&it);
    }
    if (st == SMP_OK && (flags & EXIF_FLAG) && WebPDemuxGetChunk(dmx, "EXIF", 1, &it)) {
        const unsigned char *p = it.chunk.bytes;
        size_t n = it.chunk.size;
        if (n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
            p += 6;
            n -= 6;
        }
        *orientation = smp_exif_orientation(p, n);
        WebPDemuxReleaseChunkIterator(&it);
    }
    WebPDemuxDelete(dmx);
    return st;
}

static smp_status webp_run(const char *name, const unsigned char *data, size_t size,
                           const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    /* A RIFF size beyond the bytes we have: the file was cut (the decoder
     * would otherwise report a short VP8 stream only for lossy data). */
    unsigned long riff = (unsigned long)data[4] | (unsigned long)data[5] << 8 |
                         (unsigned long)data[6] << 16 | (unsigned long)data[7] << 24;
    if (riff > size - 8)
        return truncated(name, size, err);
    WebPBitstreamFeatures f;
    VP8StatusCode vs = WebPGetFeatures(data, size, &f);
    if (vs == VP8_STATUS_NOT_ENOUGH_DATA)
        return truncated(name, size, err);
    if (vs != VP8_STATUS_OK)
        return smp_fail(err, SMP_E_FORMAT, "%s: damaged WebP file (bad header)", name);
    if (f.has_animation)
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: an animated WebP cannot be analysed: save one frame as JPEG", name);
    size_t max_pixels = limits && limits->max_pixels ? limits->max_pixels : SMP_DEFAULT_MAX_PIXELS;
    size_t n, bytes, spp = f.has_alpha ? 4 : 3;
    char buf[32];
    if (f.width <= 0 || f.height <= 0 || smp_mul_size((size_t)f.width, (size_t)f.height, &n) != 0 ||
        n > max_pixels || smp_mul_size(n, spp, &bytes) != 0)
        return smp_fail(err, SMP_E_LIMIT, "%s: %d x %d pixels is over the %s limit", name, f.width,
                        f.height, smp_megapixels(max_pixels, buf));
    int orientation = 1;
    smp_status st = read_chunks(name, data, size, limits, img, &orientation, err);
    if (st != SMP_OK)
        return st;

    unsigned char *full = smp_alloc_work(bytes);
    if (!full)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for %s of pixels", name,
                        smp_human_size(bytes, buf));
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg)) {
        free(full);
        return smp_fail(err, SMP_E_UNSUPPORTED, "%s: this libwebp does not match its header", name);
    }
    cfg.output.colorspace = f.has_alpha ? MODE_RGBA : MODE_RGB;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = full;
    cfg.output.u.RGBA.stride = f.width * (int)spp;
    cfg.output.u.RGBA.size = bytes;
    vs = WebPDecode(data, size, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    if (vs != VP8_STATUS_OK) {
        free(full);
        if (vs == VP8_STATUS_NOT_ENOUGH_DATA)
            return truncated(name, size, err);
        if (vs == VP8_STATUS_OUT_OF_MEMORY)
            return smp_fail(err, SMP_E_NOMEM, "%s: out of memory decoding the WebP image", name);
        return smp_fail(err, SMP_E_FORMAT, "%s: damaged WebP file (image data)", name);
    }
    smp_reduction plan = smp_plan_reduction(limits, orientation, (size_t)f.width, (size_t)f.height);
    smp_rows r;
    st = smp_rows_start(&r, name, &plan, (size_t)f.width, (size_t)f.height, 3, spp, f.has_alpha, 1,
                        err);
    if (st == SMP_OK) {
        for (int y = 0; y < f.height; y++)
            smp_rows_take(&r, full + (size_t)y * (size_t)f.width * spp);
    }
    free(full);
    return st == SMP_OK ? smp_rows_finish(&r, name, orientation, img, err) : st;
}

smp_status smp_module_webp_decode(const char *name, const unsigned char *data, size_t size,
                                  const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    memset(img, 0, sizeof *img);
    smp_status st = size >= 12 ? webp_run(name, data, size, limits, img, err)
                               : truncated(name, size, err);
    if (st != SMP_OK) {
        smp_image_release(img);
        return st;
    }
    img->format = SMP_FORMAT_WEBP;
    return SMP_OK;
}
