/* blas.h - which CBLAS this build uses, and its threading.
 *
 * gradcheck's matrix products are small (a batch of 1 to a few hundred
 * samples); OpenBLAS's own threads cost more than they save there and
 * spin in the kernel between calls, so the command and the benchmark run
 * BLAS on one thread.
 */
#ifndef GRADCHECK_BLAS_H
#define GRADCHECK_BLAS_H

/* "openblas" or "gslcblas". */
const char *gc_blas_name(void);

/* Asks the BLAS to use one thread (a no-op for GSL's CBLAS). */
void gc_blas_single_thread(void);

#endif
