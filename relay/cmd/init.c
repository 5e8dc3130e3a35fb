/* renraku init (placeholder until the stage lands) */
#include "cmd.h"

int cmd_init(struct app *app, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	rk_log_error(&app->log, "'init' is not implemented yet");
	return RK_EXIT_FAILURE;
}
