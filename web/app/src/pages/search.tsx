export function SearchPage() {
  return <p className="empty">Search comes next.</p>;
}
