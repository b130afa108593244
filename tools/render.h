/* Placeholder: the scene renderer shared by gen_samples and the tests (being written). */
#ifndef SMP_TOOLS_RENDER_H
#define SMP_TOOLS_RENDER_H
#endif
