/* eval.h: internal interface between eval.c (scoring) and eval_task.c (task-file lines). */
#ifndef TRIT_EVAL_H
#define TRIT_EVAL_H

#include <stddef.h>
#include <stdint.h>

/* One multiple-choice question, normalised from any supported layout (docs/eval.md): the scored text of
 * choice i is context + delim + choice[i]; acc_norm divides by the code points of choice[i] alone. */
typedef struct {
    char *buf;                  /* owns every string below (NUL-terminated views into it) */
    const char *layout;         /* "trit", "hellaswag", "arc", "mmlu" (static) */
    const char *context, *delim;
    int32_t n_choices;
    const char **choice;        /* [n_choices] */
    int32_t label;              /* 0 .. n_choices-1 */
} mc_item;

/* Parses one line (a JSON object) of a task file. TRIT_OK, or TRIT_ERR_FORMAT with trit_last_error()
 * saying what is wrong and at which column, or TRIT_ERR_NOMEM. On error *it is empty. */
int mc_item_parse(const char *line, size_t len, mc_item *it);
void mc_item_free(mc_item *it);

/* The item as one line of trit's own layout {"context":..,"choices":[..],"label":i[,"delimiter":..]}
 * (no newline). Returns the full length; writes at most cap-1 bytes plus NUL. */
int32_t mc_item_to_json(const mc_item *it, char *out, int32_t cap);

#endif
