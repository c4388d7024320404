/* finding_catalog.c - the registry of finding ids (see finding_catalog.h).
 *
 * Severity rule (docs/findings/): error for a wrong gradient or update or
 * a non-finite value, warning for a training-health rule, info for a note
 * about the checker itself that needs no action.
 *
 * The embedded pages (gc_finding_pages) come from a file generated at
 * build time; only the look-up lives here.
 */
#include "finding_catalog.h"

#include <string.h>

#define ERROR GC_SEVERITY_ERROR
#define WARNING GC_SEVERITY_WARNING
#define INFO GC_SEVERITY_INFO

/* Grouped as --list-findings shows them: what the first diagnosis found,
 * the named backprop mistakes (fingerprints), then training health and
 * the checker's own notes. */
static const gc_finding_info catalog[] = {
    /* the first diagnosis */
    {"softmax-jacobian-mismatch", ERROR,
     "the softmax backward keeps only the diagonal s(1-s) of its Jacobian"},
    {"gradient-mismatch", ERROR,
     "a tensor's gradient disagrees with finite differences; which "
     "backward step to look at"},
    {"logit-drift", WARNING,
     "the mean logit keeps moving one way, toward the end of exp's range"},
    {"unstable-softmax", WARNING,
     "the softmax exponentiates raw logits that are heading out of exp's "
     "range"},
    {"non-finite", ERROR,
     "the first NaN or Inf of the run, and the operation that made it"},

    /* named backprop mistakes */
    {"softmax-bce-mismatch", ERROR,
     "elementwise softmax derivative with per-output binary cross-entropy: "
     "the gradient of categorical cross-entropy, not of the loss declared"},
    {"derivative-at-activation", ERROR,
     "the activation derivative is taken at the activation, f'(f(z)), "
     "instead of at the pre-activation, f'(z)"},
    {"output-delta-missing-derivative", ERROR,
     "the MSE output delta a - y lacks the output activation's derivative "
     "f'(z)"},
    {"weight-gradient-from-output", ERROR,
     "the weight gradient uses the layer's own output instead of its input"},
    {"missing-bias-gradient", ERROR,
     "the bias gradient is zero, so the biases never move"},
    {"batch-sum-not-mean", ERROR,
     "the gradient is summed over the batch while the loss averages it"},
    {"weight-gradient-transposed", ERROR,
     "the weight gradient is transposed (visible only where a layer is "
     "square)"},
    {"update-ascent", ERROR,
     "the update adds the gradient instead of subtracting it"},
    {"unclamped-log", ERROR,
     "cross-entropy takes the log of a probability that can reach 0"},

    /* training health */
    {"learning-rate-too-high", WARNING,
     "the loss rises above its start while the weights grow and every "
     "update goes downhill"},
    {"vanishing-gradients", WARNING,
     "gradient norms shrink by orders of magnitude toward the input"},
    {"exploding-gradients", WARNING,
     "gradient norms grow by orders of magnitude toward the input"},
    {"dead-relu", WARNING,
     "relu or leaky-relu units never active over recent batches; their "
     "checks pass trivially"},
    {"saturated-units", WARNING,
     "sigmoid or tanh units stuck near their limits, where the derivative "
     "is almost 0"},
    {"symmetric-init", WARNING,
     "identical weight rows: the units of a layer compute the same thing "
     "and stay that way"},
    {"unscaled-inputs", WARNING,
     "input features spread far beyond 1"},
    {"loss-not-decreasing", WARNING,
     "the training loss is not going down"},

    /* the checker's own false alarms */
    {"check-rounding", WARNING,
     "a check mismatch that shrinks when the step grows: rounding in the "
     "check, not a wrong gradient"},
    {"kink-excluded", INFO,
     "elements whose difference crossed a kink of a piecewise-linear unit "
     "were left out of a check"},

    /* the model under test itself (docs/sources/) */
    {"model-failed", ERROR,
     "a plugin or pipe model crashed, hung, or answered garbage; the run "
     "stopped (exit status 2)"},
    {"probe-skipped", INFO,
     "a probe did not run because the model does not expose what it "
     "needs"},
};

#define CATALOG_COUNT (sizeof catalog / sizeof catalog[0])

size_t gc_finding_catalog_count(void)
{
    return CATALOG_COUNT;
}

const gc_finding_info *gc_finding_catalog_at(size_t i)
{
    return i < CATALOG_COUNT ? &catalog[i] : NULL;
}

const gc_finding_info *gc_finding_catalog_find(const char *id)
{
    for (size_t i = 0; id != NULL && i < CATALOG_COUNT; i++) {
        if (strcmp(catalog[i].id, id) == 0)
            return &catalog[i];
    }
    return NULL;
}

const gc_finding_page *gc_finding_page_find(const char *id)
{
    for (size_t i = 0; id != NULL && i < gc_finding_page_count; i++) {
        if (strcmp(gc_finding_pages[i].id, id) == 0)
            return &gc_finding_pages[i];
    }
    return NULL;
}

/* ---- close ids ------------------------------------------------------------ */

/* Edit distances up to this count as a typo: a transposed pair of letters
 * costs 2, a dropped or doubled letter 1, so 3 catches the usual slips of
 * a hand-typed id while keeping unrelated ids (which differ by 10 or more
 * edits) out. */
#define GC_TYPO_DISTANCE 3

/* A shared hyphen-separated word must be at least this long to count:
 * "softmax", "relu", "gradient" say something; "at" or "to" do not. */
#define GC_SHARED_WORD_MIN 3

/* Ids are under 40 characters; a word longer than this is no typo of one
 * and gets no edit distance (it can still match by a shared word). */
#define GC_DISTANCE_MAX_LENGTH 64

/* Levenshtein distance of a and b, both at most GC_DISTANCE_MAX_LENGTH
 * long; two rows of (length + 1) cells. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t previous[GC_DISTANCE_MAX_LENGTH + 1];
    size_t current[GC_DISTANCE_MAX_LENGTH + 1];

    for (size_t j = 0; j <= lb; j++)
        previous[j] = j;
    for (size_t i = 1; i <= la; i++) {
        current[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t substitute = previous[j - 1] + (a[i - 1] != b[j - 1]);
            size_t remove = previous[j] + 1;
            size_t insert = current[j - 1] + 1;
            size_t best = substitute < remove ? substitute : remove;
            current[j] = best < insert ? best : insert;
        }
        memcpy(previous, current, (lb + 1) * sizeof previous[0]);
    }
    return previous[lb];
}

/* Whether the hyphen-separated word s[0..len) is one of id's words. */
static bool id_has_word(const char *id, const char *s, size_t len)
{
    const char *at = id;
    for (;;) {
        const char *hyphen = strchr(at, '-');
        size_t n = hyphen ? (size_t)(hyphen - at) : strlen(at);
        if (n == len && memcmp(at, s, len) == 0)
            return true;
        if (hyphen == NULL)
            return false;
        at = hyphen + 1;
    }
}

/* Whether one of word's hyphen-separated words (long enough to mean
 * something) is one of id's words. */
static bool shares_word(const char *id, const char *word)
{
    const char *at = word;
    for (;;) {
        const char *hyphen = strchr(at, '-');
        size_t n = hyphen ? (size_t)(hyphen - at) : strlen(at);
        if (n >= GC_SHARED_WORD_MIN && id_has_word(id, at, n))
            return true;
        if (hyphen == NULL)
            return false;
        at = hyphen + 1;
    }
}

/* How close id is to word: its edit distance when within a typo, else
 * GC_TYPO_DISTANCE + 1 when it contains word or shares one of its words;
 * -1 when it is not close at all. */
static int closeness(const char *id, const char *word)
{
    if (strlen(word) <= GC_DISTANCE_MAX_LENGTH) {
        size_t d = edit_distance(word, id);
        if (d <= GC_TYPO_DISTANCE)
            return (int)d;
    }
    if ((word[0] != '\0' && strstr(id, word) != NULL)
        || shares_word(id, word))
        return GC_TYPO_DISTANCE + 1;
    return -1;
}

size_t gc_finding_catalog_close_ids(const char *word, const char **close,
                                    size_t cap)
{
    size_t n = 0;
    if (word == NULL || close == NULL)
        return 0;
    /* Closest first: one pass per closeness, so that equal ones keep the
     * catalogue's order. */
    for (int want = 0; want <= GC_TYPO_DISTANCE + 1; want++) {
        for (size_t i = 0; i < CATALOG_COUNT && n < cap; i++) {
            if (closeness(catalog[i].id, word) == want)
                close[n++] = catalog[i].id;
        }
    }
    return n;
}
