// The report's two interactions: a filter over the port tables (every word typed must appear
// in a row; kept in the address's fragment so a filtered view can be bookmarked or shared, and
// applied from it when the page opens) and sorting the open ports by any column.
"use strict";

const filterInput = document.getElementById("filter");

function applyFilter() {
  const words = filterInput.value.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
  for (const row of document.querySelectorAll("table.filterable tbody tr")) {
    const text = row.textContent.toLowerCase();
    row.hidden = !words.every((word) => text.includes(word));
  }
  const fragment = words.length > 0 ? "#filter=" + encodeURIComponent(filterInput.value) : "";
  history.replaceState(null, "", location.pathname + location.search + fragment);
}

function filterFromFragment() {
  const match = /^#filter=(.*)$/.exec(location.hash);
  if (match) {
    filterInput.value = decodeURIComponent(match[1]);
    filterInput.dispatchEvent(new Event("input"));
  }
}

// A cell sorts by its data-key when it has one (addresses in address order, ports by
// number), else by its text.
function sortKey(row, column) {
  const cell = row.cells[column];
  return cell.dataset.key ?? cell.textContent.toLowerCase();
}

function sortBy(table, header) {
  const column = header.cellIndex;
  const ascending = header.getAttribute("aria-sort") !== "ascending";
  for (const other of table.tHead.rows[0].cells) other.removeAttribute("aria-sort");
  header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  const body = table.tBodies[0];
  const rows = Array.from(body.rows);
  rows.sort((a, b) => {
    const order = sortKey(a, column).localeCompare(sortKey(b, column));
    return ascending ? order : -order;
  });
  body.append(...rows);
}

filterInput.addEventListener("input", applyFilter);
for (const table of document.querySelectorAll("table.sortable")) {
  for (const header of table.tHead.rows[0].cells) {
    header.addEventListener("click", () => sortBy(table, header));
  }
}
filterFromFragment();
