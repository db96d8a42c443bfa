/* SPDX-License-Identifier: MIT */
/*
 * src/indicator.h - what the packer sees and hears: indications -> stack light, buzzer, text.
 *
 * Each indication is a short pattern of (mask, duration) steps driven by one timer: blinking
 * and buzzer beeps are emulated here for every lights backend (STYLE 8). A transient pattern
 * (IND_REJECT) plays once and then restores the last steady indication and its text, so a
 * rejected scan flashes red without losing "what to do next".
 */
#ifndef SEALBENCH_SRC_INDICATOR_H
#define SEALBENCH_SRC_INDICATOR_H

#include "drivers/lights/lights.h"
#include "src/pipeline.h"

struct ev;
struct indicator;

/**
 * @brief Create the indicator. @p ev and @p lights are borrowed and must outlive it; @p lights
 *        may be NULL (nothing shown, e.g. in tests that only read the log).
 * @return 0 and *ret (free with indicator_free()), -ENOMEM, -errno from the timer.
 */
int indicator_new(struct ev *ev, struct lights *lights, struct indicator **ret);
void indicator_free(struct indicator *ind);

/** @brief Show @p what with @p text (copied). Restarts the pattern. */
void indicator_show(struct indicator *ind, enum indication what, const char *text);

/** @brief The steady indication currently shown (the one a transient returns to). */
enum indication indicator_get_current(const struct indicator *ind);

/** @brief The text currently shown. Borrowed. */
const char *indicator_get_text(const struct indicator *ind);

#endif
