/*
 * toml_bridge.cpp — the only C++ in pg2md: parses TOML with toml++ and hands
 * C a flat list of (key path, kind, rendered value, line, column) entries
 * (see toml_bridge.h).  No exception leaves this file: toml::parse_error
 * becomes TB_SYNTAX with toml++'s description and position, std::bad_alloc
 * becomes TB_NOMEM.
 */
#include "config/toml_bridge.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <new>
#include <sstream>
#include <string>
#include <vector>

#include <toml++/toml.h>

namespace {

/* One flattened entry while we are still in C++. */
struct flat_entry {
	std::vector<std::string> parts;
	tb_kind kind = TB_STRING;
	std::string text;
	bool has_text = false;
	std::vector<std::string> items;
	std::vector<bool> item_nested;
	bool nested = false;
	int line = 0;
	int column = 0;
};

char *
dup_string(const std::string &s)
{
	char *p = static_cast<char *>(std::malloc(s.size() + 1));
	if (p == nullptr)
		throw std::bad_alloc();
	std::memcpy(p, s.data(), s.size());
	p[s.size()] = '\0';
	return p;
}

bool
bare_key(const std::string &s)
{
	if (s.empty())
		return false;
	for (unsigned char c : s)
		if (!(std::isalnum(c) || c == '_' || c == '-'))
			return false;
	return true;
}

/* Parts joined with '.', quoting those that are not bare keys. */
std::string
join_key(const std::vector<std::string> &parts)
{
	std::string out;
	for (size_t i = 0; i < parts.size(); i++) {
		if (i > 0)
			out += '.';
		if (bare_key(parts[i])) {
			out += parts[i];
		} else {
			out += '"';
			for (char c : parts[i]) {
				if (c == '"' || c == '\\')
					out += '\\';
				out += c;
			}
			out += '"';
		}
	}
	return out;
}

std::string
render_float(double d)
{
	char buf[64];
	auto res = std::to_chars(buf, buf + sizeof(buf), d);
	if (res.ec != std::errc())
		return "nan";
	return std::string(buf, res.ptr);
}

template <typename T>
std::string
render_stream(const T &v)
{
	std::ostringstream os;
	os << v;
	return os.str();
}

/* Render a scalar node; false when the node is an array or a table. */
bool
render_scalar(const toml::node &node, tb_kind *kind, std::string *out)
{
	switch (node.type()) {
	case toml::node_type::string:
		*kind = TB_STRING;
		*out = node.as_string()->get();
		return true;
	case toml::node_type::integer:
		*kind = TB_INTEGER;
		*out = std::to_string(node.as_integer()->get());
		return true;
	case toml::node_type::floating_point:
		*kind = TB_FLOAT;
		*out = render_float(node.as_floating_point()->get());
		return true;
	case toml::node_type::boolean:
		*kind = TB_BOOLEAN;
		*out = node.as_boolean()->get() ? "true" : "false";
		return true;
	case toml::node_type::date:
		*kind = TB_DATE;
		*out = render_stream(node.as_date()->get());
		return true;
	case toml::node_type::time:
		*kind = TB_TIME;
		*out = render_stream(node.as_time()->get());
		return true;
	case toml::node_type::date_time:
		*kind = TB_DATETIME;
		*out = render_stream(node.as_date_time()->get());
		return true;
	default:
		return false;
	}
}

void
flatten(const toml::table &table, std::vector<std::string> &path, std::vector<flat_entry> &out,
	int table_line, int table_column)
{
	if (table.empty()) {
		/* the document itself has no key: nothing to report */
		if (path.empty())
			return;
		flat_entry e;
		e.parts = path;
		e.kind = TB_TABLE;
		e.line = table_line;
		e.column = table_column;
		out.push_back(std::move(e));
		return;
	}
	for (auto &&[key, node] : table) {
		int line = static_cast<int>(key.source().begin.line);
		int column = static_cast<int>(key.source().begin.column);
		if (line == 0) {
			line = static_cast<int>(node.source().begin.line);
			column = static_cast<int>(node.source().begin.column);
		}
		path.push_back(std::string(key.str()));
		if (const toml::table *sub = node.as_table()) {
			flatten(*sub, path, out, line, column);
		} else {
			flat_entry e;
			e.parts = path;
			e.line = line;
			e.column = column;
			if (const toml::array *arr = node.as_array()) {
				e.kind = TB_ARRAY;
				for (const toml::node &elem : *arr) {
					tb_kind k;
					std::string s;
					if (render_scalar(elem, &k, &s)) {
						e.items.push_back(std::move(s));
						e.item_nested.push_back(false);
					} else {
						e.items.emplace_back();
						e.item_nested.push_back(true);
						e.nested = true;
					}
				}
			} else {
				render_scalar(node, &e.kind, &e.text);
				e.has_text = true;
			}
			out.push_back(std::move(e));
		}
		path.pop_back();
	}
}

/* Copy the C++ entries into doc (malloc'd); throws std::bad_alloc. */
void
export_entries(const std::vector<flat_entry> &flat, tb_doc *doc)
{
	doc->entries = static_cast<tb_entry *>(std::calloc(flat.size() ? flat.size() : 1, sizeof(tb_entry)));
	if (doc->entries == nullptr)
		throw std::bad_alloc();
	doc->n = 0;
	for (const flat_entry &f : flat) {
		tb_entry *e = &doc->entries[doc->n++];
		e->kind = f.kind;
		e->line = f.line;
		e->column = f.column;
		e->nested = f.nested;
		e->parts = static_cast<char **>(std::calloc(f.parts.size(), sizeof(char *)));
		if (e->parts == nullptr)
			throw std::bad_alloc();
		for (const std::string &p : f.parts)
			e->parts[e->n_parts++] = dup_string(p);
		e->key = dup_string(join_key(f.parts));
		if (f.has_text)
			e->text = dup_string(f.text);
		if (f.kind == TB_ARRAY && !f.items.empty()) {
			e->items = static_cast<char **>(std::calloc(f.items.size(), sizeof(char *)));
			if (e->items == nullptr)
				throw std::bad_alloc();
			for (size_t i = 0; i < f.items.size(); i++) {
				e->items[i] = f.item_nested[i] ? nullptr : dup_string(f.items[i]);
				e->n_items++;
			}
		}
	}
}

void
copy_desc(char *desc, size_t desc_len, std::string_view s)
{
	if (desc == nullptr || desc_len == 0)
		return;
	size_t n = std::min(s.size(), desc_len - 1);
	std::memcpy(desc, s.data(), n);
	desc[n] = '\0';
}

} /* namespace */

extern "C" tb_result
tb_parse(const char *text, size_t len, const char *source, tb_doc *doc,
	 char *desc, size_t desc_len, int *line, int *column)
{
	tb_doc result = {nullptr, 0};

	try {
		toml::table root = toml::parse(std::string_view(text, len),
					       std::string_view(source ? source : ""));
		std::vector<flat_entry> flat;
		std::vector<std::string> path;
		flatten(root, path, flat, 0, 0);
		std::stable_sort(flat.begin(), flat.end(), [](const flat_entry &a, const flat_entry &b) {
			return a.line != b.line ? a.line < b.line : a.column < b.column;
		});
		export_entries(flat, &result);
	} catch (const toml::parse_error &e) {
		tb_doc_release(&result);
		copy_desc(desc, desc_len, e.description());
		if (line)
			*line = static_cast<int>(e.source().begin.line);
		if (column)
			*column = static_cast<int>(e.source().begin.column);
		return TB_SYNTAX;
	} catch (const std::bad_alloc &) {
		tb_doc_release(&result);
		copy_desc(desc, desc_len, "out of memory");
		return TB_NOMEM;
	} catch (...) {
		tb_doc_release(&result);
		copy_desc(desc, desc_len, "unexpected failure in the TOML parser");
		return TB_NOMEM;
	}
	*doc = result;
	return TB_OK;
}

extern "C" void
tb_doc_release(tb_doc *doc)
{
	if (doc == nullptr || doc->entries == nullptr)
		return;
	for (int i = 0; i < doc->n; i++) {
		tb_entry *e = &doc->entries[i];
		for (int j = 0; j < e->n_parts; j++)
			std::free(e->parts[j]);
		std::free(e->parts);
		std::free(e->key);
		std::free(e->text);
		for (int j = 0; j < e->n_items; j++)
			std::free(e->items[j]);
		std::free(e->items);
	}
	std::free(doc->entries);
	doc->entries = nullptr;
	doc->n = 0;
}
