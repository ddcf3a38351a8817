-- book.lua -- pandoc filter for The Socket Book.
--
-- Metadata it reads:
--   book-mode   "multi" (one HTML page per chapter), "single" (one page for
--               the whole book) or "epub"
--   chapter-id  the chapter being converted (its folder name, "02-stream");
--               absent when the whole book is converted in one go
--
-- With a chapter-id, it makes every heading id unique in the book by
-- prefixing it with the chapter's name ("stream--half-close" in 02-stream;
-- the chapter's title gets the bare name: pandoc's Markdown ids cannot start
-- with a digit, so the folder's number is left out), and rewrites the links that chapters write to
-- one another as files ("../02-stream/README.md#half-close") into links to
-- pages or ids. In an EPUB, links to source files (which are not in the
-- EPUB) become plain code.
--
-- So that a wide table scrolls in a box of its own rather than the page,
-- every table of a chapter is wrapped in a <div class="table-scroll"> (once:
-- the single-page and EPUB editions are made from chapters already
-- converted). The interop grid's cells fold their failures in <details>,
-- which a printed book cannot open: in an EPUB they stand open.

local mode = "multi"
local chapter = nil

local function read_meta(meta)
  if meta["book-mode"] then mode = pandoc.utils.stringify(meta["book-mode"]) end
  if meta["chapter-id"] then chapter = pandoc.utils.stringify(meta["chapter-id"]) end
end

local function scoped(chapter_id, fragment)
  local name = chapter_id:gsub("^%d+%-", "")
  if fragment == nil or fragment == "" then return name end
  return name .. "--" .. fragment
end

-- The href for a heading `fragment` (may be empty) of chapter `target`.
local function href(target, fragment)
  local id = scoped(target, fragment)
  if mode == "multi" then
    if target == chapter then return "#" .. id end
    if fragment == nil or fragment == "" then return target .. ".html" end
    return target .. ".html#" .. id
  end
  return "#" .. id
end

local function header(h)
  if not chapter then return nil end
  if h.level == 1 then
    h.identifier = scoped(chapter, nil)
  else
    h.identifier = scoped(chapter, h.identifier)
  end
  return h
end

local function table_box(t)
  if not chapter then return nil end
  return pandoc.Div({t}, pandoc.Attr("", {"table-scroll"}))
end

local function raw_block(b)
  if mode ~= "epub" or not b.format:match("^html") then return nil end
  b.text = b.text:gsub('<details class="cell">', '<details class="cell" open="open">')
  return b
end

local function link(l)
  if mode == "epub" and l.classes:includes("source-link") then
    return pandoc.Code(pandoc.utils.stringify(l.content))
  end
  if not chapter then return nil end
  local target, fragment = l.target:match("^%.%./([%w%-_]+)/README%.md#?(.*)$")
  if target then
    l.target = href(target, fragment)
    return l
  end
  fragment = l.target:match("^#(.+)$")
  if fragment then
    l.target = href(chapter, fragment)
    return l
  end
  return nil
end

return {
  { Meta = read_meta },
  { Header = header, Link = link, Table = table_box, RawBlock = raw_block },
}
