/* blas.c - the BLAS this build links (blas.h). */
#include "blas.h"

#ifdef GC_USE_OPENBLAS
void openblas_set_num_threads(int num_threads);
#endif

const char *gc_blas_name(void)
{
#ifdef GC_USE_OPENBLAS
    return "openblas";
#else
    return "gslcblas";
#endif
}

void gc_blas_single_thread(void)
{
#ifdef GC_USE_OPENBLAS
    openblas_set_num_threads(1);
#endif
}
