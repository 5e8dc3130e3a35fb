/* Process-wide library initialisation for the notify stage. */
#include <gmime/gmime.h>
#include <gpgme.h>
#include <locale.h>

#include "renraku/notify.h"

void notify_init(void)
{
	g_mime_init();
	gpgme_check_version(NULL);
	gpgme_set_locale(NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
}

void notify_shutdown(void)
{
	g_mime_shutdown();
}
