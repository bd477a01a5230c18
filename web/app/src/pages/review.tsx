export function ReviewPage() {
  return <p className="empty">The review queue comes next.</p>;
}
