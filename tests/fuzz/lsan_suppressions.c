/*
 * lsan_suppressions.c: what LeakSanitizer is told to ignore in the fuzz
 * targets and their replay tests (linked into every one of them).
 *
 * libheif 1.15.1's AV1 decoder plugin (Debian 12) copies the compressed
 * data into a Dav1dData (dav1d_data_create) and does not release it when
 * dav1d refuses the data, so every damaged AVIF loses about 40 bytes inside
 * libheif, under heif_decode_image, after which smpmatch holds nothing
 * (src/image_heif.c releases every handle and image it is given; the
 * fuzzer found the first such file, see tests/fuzz/README.md). AVIF files
 * are now refused (src/image.c), but a crafted file that calls itself HEIC
 * while holding an AV1-coded image still reaches dav1d. Only
 * memory allocated inside libdav1d (which smpmatch reaches only through
 * libheif, for AVIF) is ignored: the leak's stack, unwound without frame
 * pointers in the system library, shows just libdav1d's frames, so a finer
 * rule (the function dav1d_data_create) would not match. A leak anywhere
 * else, smpmatch's own above all, still fails the run. The hook is
 * LeakSanitizer's own (sanitizer/lsan_interface.h); without a sanitizer it
 * is an unused function.
 */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libdav1d.so\n";
}
