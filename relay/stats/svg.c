/* A small SVG writer: one bar chart (stacked when it has several
 * series), text escaped for XML, axis labels and a legend. */
#include <string.h>

#include "renraku/stats.h"

/* colours of the series, cycled */
static const char *const palette[] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
	"#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
};

enum rk_err svg_escape(struct rk_buf *out, const char *s)
{
	enum rk_err err = RK_OK;

	for (; s && *s && !err; s++) {
		switch (*s) {
		case '&': err = rk_buf_adds(out, "&amp;"); break;
		case '<': err = rk_buf_adds(out, "&lt;"); break;
		case '>': err = rk_buf_adds(out, "&gt;"); break;
		case '"': err = rk_buf_adds(out, "&quot;"); break;
		case '\'': err = rk_buf_adds(out, "&apos;"); break;
		default:
			/* XML 1.0 allows no other control characters */
			if ((unsigned char)*s < 0x20 && *s != '\t' && *s != '\n')
				err = rk_buf_addc(out, ' ');
			else
				err = rk_buf_addc(out, *s);
		}
	}
	return err;
}

static enum rk_err text_at(struct rk_buf *out, double x, double y,
			   const char *anchor, int size, const char *extra,
			   const char *s)
{
	enum rk_err err;

	if ((err = rk_buf_addf(out,
			       "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" "
			       "font-size=\"%d\"%s>",
			       x, y, anchor, size, extra ? extra : "")) ||
	    (err = svg_escape(out, s)))
		return err;
	return rk_buf_adds(out, "</text>\n");
}

/* a round step of the y axis for a maximum */
static long long axis_step(long long max)
{
	long long step = 1;

	while (max / step > 5) {
		if (max / (step * 2) <= 5)
			return step * 2;
		if (max / (step * 5) <= 5)
			return step * 5;
		step *= 10;
	}
	return step;
}

enum rk_err svg_bars(struct rk_buf *out, const struct svg_chart *c)
{
	const double left = 70, top = 40, plot_h = 220, legend_w = 190;
	double bar_w, plot_w, slot;
	long long max = 0, step;
	size_t ns = c->n_series ? c->n_series : 1;
	double height;
	enum rk_err err;
	bool ja = c->lang && strcmp(c->lang, "ja") == 0;

	for (size_t i = 0; i < c->n_x; i++) {
		long long sum = 0;

		for (size_t s = 0; s < ns; s++)
			sum += c->values[i * ns + s];
		if (sum > max)
			max = sum;
	}
	if (max == 0)
		max = 1;
	step = axis_step(max);
	max = (max + step - 1) / step * step;
	slot = c->n_x ? (c->n_x > 12 ? 40 : 70) : 70;
	plot_w = slot * (double)(c->n_x ? c->n_x : 1);
	bar_w = slot * 0.6;
	height = top + plot_h + 70;
	if (ns > 1 && height < top + 20.0 * (double)ns + 20)
		height = top + 20.0 * (double)ns + 20;
	if ((err = rk_buf_addf(
		     out,
		     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
		     "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
		     "font-family=\"%s\" role=\"img\">\n",
		     left + plot_w + 20 + (ns > 1 ? legend_w : 0), height,
		     left + plot_w + 20 + (ns > 1 ? legend_w : 0), height,
		     ja ? "'Noto Sans CJK JP', 'Noto Sans JP', sans-serif"
			: "'Noto Sans', 'DejaVu Sans', sans-serif")) ||
	    (err = rk_buf_adds(out, "<title>")) ||
	    (err = svg_escape(out, c->title)) ||
	    (err = rk_buf_adds(out, "</title>\n")) ||
	    (err = text_at(out, left, 22, "start", 15, " font-weight=\"bold\"",
			   c->title)))
		return err;
	/* the y axis: grid lines and numbers */
	for (long long v = 0; v <= max && !err; v += step) {
		double y = top + plot_h - plot_h * (double)v / (double)max;
		char num[32];

		snprintf(num, sizeof(num), "%lld", v);
		err = rk_buf_addf(out,
				  "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
				  "y2=\"%.1f\" stroke=\"#ddd\"/>\n",
				  left, y, left + plot_w, y);
		if (!err)
			err = text_at(out, left - 6, y + 4, "end", 11, NULL, num);
	}
	if (err)
		return err;
	/* the bars */
	for (size_t i = 0; i < c->n_x && !err; i++) {
		double x = left + slot * (double)i + (slot - bar_w) / 2;
		double y = top + plot_h;

		for (size_t s = 0; s < ns && !err; s++) {
			long long v = c->values[i * ns + s];
			double h = plot_h * (double)v / (double)max;

			if (v <= 0)
				continue;
			y -= h;
			err = rk_buf_addf(out,
					  "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
					  "height=\"%.1f\" fill=\"%s\"><title>%lld</title></rect>\n",
					  x, y, bar_w, h,
					  palette[s % RK_ARRAY_LEN(palette)], v);
		}
		if (!err)
			err = text_at(out, x + bar_w / 2, top + plot_h + 16,
				      "middle", 10, NULL, c->x[i]);
	}
	if (err ||
	    (err = rk_buf_addf(out,
			       "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
			       "stroke=\"#333\"/>\n<line x1=\"%.1f\" y1=\"%.1f\" "
			       "x2=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n",
			       left, top, left, top + plot_h, left, top + plot_h,
			       left + plot_w, top + plot_h)) ||
	    (err = text_at(out, left + plot_w / 2, top + plot_h + 40, "middle",
			   12, NULL, c->x_label)) ||
	    (err = rk_buf_addf(out,
			       "<text x=\"16\" y=\"%.1f\" text-anchor=\"middle\" "
			       "font-size=\"12\" transform=\"rotate(-90 16 %.1f)\">",
			       top + plot_h / 2, top + plot_h / 2)) ||
	    (err = svg_escape(out, c->y_label)) ||
	    (err = rk_buf_adds(out, "</text>\n")))
		return err;
	/* the legend */
	for (size_t s = 0; ns > 1 && s < ns && !err; s++) {
		double lx = left + plot_w + 30, ly = top + 20.0 * (double)s;

		err = rk_buf_addf(out,
				  "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" "
				  "height=\"12\" fill=\"%s\"/>\n",
				  lx, ly, palette[s % RK_ARRAY_LEN(palette)]);
		if (!err)
			err = text_at(out, lx + 18, ly + 11, "start", 12, NULL,
				      c->series[s]);
	}
	return err ? err : rk_buf_adds(out, "</svg>\n");
}
