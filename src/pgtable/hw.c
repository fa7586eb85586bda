// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * What a hardware walker needs of an entry, for the models that play the
 * hardware (sim/machine, the checker's world) and any embedder's own:
 * the table an entry points at and the atomic updates FEAT_HAFDBS and
 * EPT A/D make, so that no simulator decodes entries through the format's
 * masks (the format is the engine's business; a model that re-derives it
 * would agree with the engine's bugs).
 */
#include "internal.h"

uint64_t *s2_pte_child(const struct s2_pgtable *pgt, uint64_t pte, int level)
{
	const struct s2_fmt_level *lv = s2_lv(pgt, level);

	return level < S2_LAST_LEVEL && lv_table(lv, pte) ? lv_child(pgt, lv, pte) : NULL;
}

uint64_t s2_pte_hw_update(const struct s2_pgtable *pgt, uint64_t pte, int level, unsigned what)
{
	const struct s2_fmt_level *lv = s2_lv(pgt, level);

	if (!lv_leaf(lv, pte))
		return pte;
	if ((what & S2_HW_SET_AF) && (pgt->flags & (S2_PGT_HW_AF | S2_PGT_EPT_AD)))
		pte |= lv->af;
	/* DBM (Arm ARM D8.4.6): hardware makes a writable-clean leaf dirty by
	 * setting S2AP[1], and only a leaf whose DBM bit is set */
	if ((what & S2_HW_SET_DIRTY) && (pgt->flags & S2_PGT_HW_DBM) && lv->dbm &&
	    (pte & lv->dbm))
		pte |= lv->w;
	/* EPT A/D (SDM 29.3.5): a write through a leaf sets its D bit */
	if ((what & S2_HW_SET_DIRTY) && (pgt->flags & S2_PGT_EPT_AD) && lv->dirty &&
	    (pte & lv->w))
		pte |= lv->dirty;
	return pte;
}
