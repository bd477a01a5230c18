export function JobsPage() {
  return <p className="empty">Jobs come next.</p>;
}
