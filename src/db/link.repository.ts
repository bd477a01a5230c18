import type { Link, LinkStatus, Prisma as P } from './generated/client.ts';
import type { Prisma } from './database.ts';

export class LinkRepository {
  constructor(private readonly prisma: Prisma) {}

  create(data: P.LinkUncheckedCreateInput): Promise<Link> {
    return this.prisma.link.create({ data });
  }

  findById(id: number): Promise<Link | null> {
    return this.prisma.link.findUnique({ where: { id } });
  }

  setStatus(id: number, status: LinkStatus, decidedBy: string | null): Promise<Link> {
    return this.prisma.link.update({ where: { id }, data: { status, decidedBy, decidedAt: new Date() } });
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
