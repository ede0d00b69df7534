/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The yardstick of tests/bench/ui-scale: the smallest libadwaita application with a window (a
 * header bar and a status page). Prints, like POSTBOTE_BENCH=1, the monotonic time of its
 * first frame and its RSS then, and quits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <adwaita.h>

static gboolean
quit_cb (gpointer app)
{
  g_application_quit (app);
  return G_SOURCE_REMOVE;
}

static void
after_paint_cb (GdkFrameClock *clock,
                GApplication  *app)
{
  static gboolean done;
  char *status = NULL;
  const char *line;

  if (done)
    return;
  done = TRUE;
  fprintf (stderr, "POSTBOTE_BENCH first-frame %" G_GINT64_FORMAT "\n", g_get_monotonic_time ());
  if (g_file_get_contents ("/proc/self/status", &status, NULL, NULL)
      && (line = strstr (status, "VmRSS:")) != NULL)
    fprintf (stderr, "POSTBOTE_BENCH rss first-frame %ld\n", strtol (line + 6, NULL, 10));
  g_free (status);
  g_timeout_add (300, quit_cb, app);
}

static void
realize_cb (GtkWidget    *window,
            GApplication *app)
{
  g_signal_connect (gtk_widget_get_frame_clock (window), "after-paint",
                    G_CALLBACK (after_paint_cb), app);
}

static void
activate_cb (GApplication *app)
{
  GtkWidget *window = adw_application_window_new (GTK_APPLICATION (app));
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *page = adw_status_page_new ();

  adw_status_page_set_title (ADW_STATUS_PAGE (page), "Hello");
  gtk_widget_set_vexpand (page, TRUE);
  gtk_box_append (GTK_BOX (box), adw_header_bar_new ());
  gtk_box_append (GTK_BOX (box), page);
  adw_application_window_set_content (ADW_APPLICATION_WINDOW (window), box);
  gtk_window_set_default_size (GTK_WINDOW (window), 1000, 680);
  g_signal_connect (window, "realize", G_CALLBACK (realize_cb), app);
  gtk_window_present (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  AdwApplication *app = adw_application_new ("io.github.postbote.BenchMinimal",
                                             G_APPLICATION_NON_UNIQUE);
  int status;

  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), NULL);
  status = g_application_run (G_APPLICATION (app), argc, argv);
  g_object_unref (app);
  return status;
}
