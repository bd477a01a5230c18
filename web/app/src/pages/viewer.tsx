export function ViewerPage({ id }: { id: string }) {
  return <p className="empty">The viewer of {id} comes next.</p>;
}
