/* Placeholder while --debug-masks is being written (replaced in this session). */
#include "debug.h"
#include "util.h"
smp_status smp_debug_write_masks(const char *dir, const char *photo, const smp_lab_image *lab,
                                 const unsigned char *hair, const unsigned char *scalp,
                                 smp_error *err)
{
    (void)dir; (void)lab; (void)hair; (void)scalp;
    return smp_fail(err, SMP_E_ARG, "%s: --debug-masks is not built yet", photo);
}
