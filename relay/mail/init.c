/* Process-wide library initialisation for the mail stage. */
#include <gmime/gmime.h>
#include <gpgme.h>
#include <locale.h>

#include "renraku/mail.h"

void mail_init(void)
{
	g_mime_init();
	gpgme_check_version(NULL);
	gpgme_set_locale(NULL, LC_CTYPE, setlocale(LC_CTYPE, NULL));
}

void mail_shutdown(void)
{
	g_mime_shutdown();
}
