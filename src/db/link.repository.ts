import type { Link, LinkStatus, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';
import type { Tx } from './image.repository.ts';

export class LinkRepository {
  constructor(private readonly prisma: Prisma) {}

  create(tx: Tx, data: P.LinkUncheckedCreateInput): Promise<Link> {
    return tx.link.create({ data });
  }

  findById(id: number): Promise<Link | null> {
    return this.prisma.link.findUnique({ where: { id } });
  }

  /** The row as it is now, locked until the transaction ends (two decisions at once are recorded one after the other). */
  async findForUpdate(tx: Tx, id: number): Promise<Link | null> {
    await tx.$queryRaw`SELECT id FROM "Link" WHERE id = ${id} FOR UPDATE`;
    return tx.link.findUnique({ where: { id } });
  }

  setStatus(tx: Tx, id: number, status: LinkStatus, decidedBy: string | null): Promise<Link> {
    return tx.link.update({ where: { id }, data: { status, decidedBy, decidedAt: new Date() } });
  }

  /** Links from or to any of these images, newest first. */
  forImages(imageIds: readonly number[]): Promise<Link[]> {
    return this.prisma.link.findMany({
      where: { OR: [{ sourceId: { in: [...imageIds] } }, { targetImageId: { in: [...imageIds] } }] },
      orderBy: { id: 'desc' },
    });
  }

  /** Links whose target is on one of these slides, newest first. */
  forSlides(slideIds: readonly number[]): Promise<Link[]> {
    return this.prisma.link.findMany({ where: { targetSlideId: { in: [...slideIds] } }, orderBy: { id: 'desc' } });
  }
}
