/* libFuzzer harness: renraku.conf parsing and validation (inih + our
 * checks), from a buffer. */
#include <stdint.h>
#include <string.h>

#include "renraku/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rk_config cfg;
	struct rk_log quiet = {RK_LOG_ERROR, NULL};
	FILE *devnull = fopen("/dev/null", "w");

	quiet.stream = devnull;
	if (rk_config_defaults(&cfg) == RK_OK) {
		rk_config_load_buffer(&cfg, "/etc/renraku/renraku.conf",
				      (const char *)data, size, &quiet);
		/* whatever was accepted must hold what the loader promises */
		if (cfg.relay.from && rk_str_has_ctl(cfg.relay.from, false))
			__builtin_trap();
		if (cfg.relay.name && !rk_utf8_valid(cfg.relay.name,
						     strlen(cfg.relay.name)))
			__builtin_trap();
		(void)rk_config_severity(&cfg, "scanner");
		rk_config_release(&cfg);
	}
	if (devnull)
		fclose(devnull);
	return 0;
}
