/* report.h -- sockload's one JSON object on stdout */
#ifndef SOCKLOAD_REPORT_H
#define SOCKLOAD_REPORT_H

#include "engine.h"
#include "json.h"
#include "options.h"

/* Write the run's figures into *j (an empty writer); json_finish says if it worked. */
void report_write(struct json *j, const struct options *o, const struct results *r);

#endif
