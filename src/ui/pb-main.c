/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "postbote"

#include "config.h"

#include "pb-application.h"
#include "pb-engine.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr (PbApplication) app = NULL;

  pb_bench_mark ("main");
  /* POSTBOTE_LOCALEDIR overrides where translations are read from; see
   * pb_application_init_i18n(). */
  pb_application_init_i18n ();
  pb_engine_init ();

  app = pb_application_new ();

  return g_application_run (G_APPLICATION (app), argc, argv);
}
