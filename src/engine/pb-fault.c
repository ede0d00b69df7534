/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "pb-fault"

#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pb-fault.h"

typedef struct
{
  char *name;
  guint remaining;  /* hits left before the kill; guarded by points_lock */
} FaultPoint;

static GPtrArray *points;  /* FaultPoint, or NULL when POSTBOTE_FAULT is unset */
static GMutex points_lock;

static gpointer
load_points (gpointer data)
{
  const char *spec = g_getenv ("POSTBOTE_FAULT");
  g_auto(GStrv) parts = NULL;

  if (spec == NULL || *spec == '\0')
    return NULL;

  points = g_ptr_array_new ();
  parts = g_strsplit (spec, ",", -1);
  for (guint i = 0; parts[i] != NULL; i++)
    {
      FaultPoint *point = g_new0 (FaultPoint, 1);
      char *hash = strchr (parts[i], '#');
      guint64 n = 1;

      if (hash != NULL)
        {
          *hash = '\0';
          if (!g_ascii_string_to_unsigned (hash + 1, 10, 1, G_MAXUINT, &n, NULL))
            n = 1;
        }
      point->name = g_strstrip (g_strdup (parts[i]));
      point->remaining = (guint) n;
      g_ptr_array_add (points, point);
    }
  return NULL;
}

void
pb_fault_point (const char *name)
{
  static GOnce once = G_ONCE_INIT;

  g_once (&once, load_points, NULL);
  if (points == NULL)
    return;

  g_mutex_lock (&points_lock);
  for (guint i = 0; i < points->len; i++)
    {
      FaultPoint *point = g_ptr_array_index (points, i);

      if (g_strcmp0 (point->name, name) == 0 && point->remaining > 0 && --point->remaining == 0)
        {
          /* stderr is unbuffered, so the test log shows where the process died. */
          g_printerr ("postbote: fault point %s reached, killing myself\n", name);
          kill (getpid (), SIGKILL);
          _exit (137);
        }
    }
  g_mutex_unlock (&points_lock);
}
