/*
 * colour.h: the `colour` stage (private).
 *
 * In:  an smp_image (device pixels + what the file says about its colours).
 * Out: an smp_lab_image: CIELAB D50 per pixel, plus a flag byte per pixel
 *      (transparent, clipped), and a description of the profile used. It has
 *      the size of the image it is given, which the loader has already
 *      reduced to the analysis size: nothing here is ever full resolution
 *      unless the analysis is. The clipped flags are those of the reduced
 *      pixels (a block with one clipped pixel is not clipped).
 * Not: white balance (calibrate.c), measuring (measure.c).
 *
 * Colour management is LittleCMS 2, with a context created per call: nothing
 * is shared between threads.
 */
#ifndef SMP_COLOUR_H
#define SMP_COLOUR_H

#include <pthread.h>
#include <stdatomic.h>

#include "image.h"
#include "smpmatch.h"

/* Per-pixel flags. */
#define SMP_PX_TRANSPARENT 0x01 /* alpha 0 in the file: never measured */
#define SMP_PX_CLIPPED_HIGH 0x02 /* a channel at its maximum code value */
#define SMP_PX_CLIPPED_LOW 0x04  /* every channel at 0 */

typedef struct smp_lab_image {
    int width, height;    /* analysed pixels (the loader's img->scale says how
                             they lie over the photo as displayed) */
    float *lab;           /* 3 floats per pixel (L, a, b), rows top to bottom */
    unsigned char *flags; /* width*height bytes of SMP_PX_* */
    smp_workspace *ws;    /* the buffers' workspace (the image's: NULL or the
                             caller's); the work of every stage that reads
                             this image comes from it too */
    smp_team *team;       /* NULL, or the photo's second thread for the
                             passes over this image (team.h) */
} smp_lab_image;

typedef struct smp_colour_info {
    char profile[128]; /* description of the input profile used */
    int assumed;       /* untagged: taken as sRGB (or sRGB-curve grey) */
    int fallback;      /* an embedded profile was unusable and sRGB was used */
    char fallback_reason[200];
} smp_colour_info;

/* Converts the photo to Lab D50 through its profile (embedded ICC, PNG
 * sRGB/gAMA/cHRM, or assumed sRGB). `name` is for messages. On failure *out
 * is left empty. */
smp_status smp_colour_to_lab(const char *name, const smp_image *img, smp_lab_image *out,
                             smp_colour_info *info, smp_error *err);

/* The same conversion while a JPEG decodes, on the photo's second thread
 * (team.h). Hand &cs->sink to the decoder (smp_load_limits.sink): its rows
 * are converted as they come, each pixel straight to its place as
 * displayed; `before` (when set) runs on that thread too, the first time
 * it has caught up with the decoder (or after the last row). Then
 * smp_colour_stream_finish gives what smp_colour_to_lab gives for the
 * decoded image (and converts it itself when the decoder offered no rows
 * or there is no team), and smp_colour_stream_release frees what is left.
 * The Lab image is byte-identical either way. The seed pass is complete
 * only when it followed every row of the Lab image as it is finished. */
struct smp_seed_pass;

typedef struct smp_colour_stream {
    const char *name;
    struct smp_seed_pass *seed; /* NULL, or the region finder's first step to
                                   take as the rows come (regions.h); set it
                                   after init */
    smp_team *team;
    smp_part_fn before;
    void *before_arg;
    smp_row_sink sink;
    pthread_mutex_t lock; /* for `more` */
    pthread_cond_t more;
    atomic_int decoded, ended, waiting; /* rows decoded; the decoder is done; the helper sleeps */
    /* the helper's, read once the decoder's end has returned */
    int begun, converted;
    int touching; /* the reserve may have pages to touch (stream_job) */
    size_t non_finite;
    smp_image stored;
    struct conversion *conv;
    smp_status st;
    smp_error err;
    smp_colour_info info;
    smp_lab_image out;
} smp_colour_stream;

void smp_colour_stream_init(smp_colour_stream *cs, const char *name, smp_workspace *ws, smp_team *team,
                            smp_part_fn before, void *before_arg);
smp_status smp_colour_stream_finish(smp_colour_stream *cs, const smp_image *img, smp_lab_image *out,
                                    smp_colour_info *info, smp_error *err);
void smp_colour_stream_release(smp_colour_stream *cs);

void smp_lab_image_release(smp_lab_image *lab);

/* The exposure check's counts (pipeline.c): pixels there (not
 * transparent), clipped white, clipped black, and their L* in 1-unit bins
 * 0-100. smp_exposure_add adds n pixels (Lab triples and their flags). */
typedef struct smp_exposure {
    size_t there, high, low, lightness[101];
} smp_exposure;

void smp_exposure_add(smp_exposure *e, const float *lab, const unsigned char *flags, size_t n);

/* Pure helpers (tests call them directly). */
void smp_lab_to_xyz(const double lab[3], double xyz[3]); /* D50 white, Y of white = 1 */
void smp_xyz_to_lab(const double xyz[3], double lab[3]);
double smp_de00(const double a[3], const double b[3]);    /* CIEDE2000 via LittleCMS */

#endif /* SMP_COLOUR_H */
