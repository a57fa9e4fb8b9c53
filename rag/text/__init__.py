"""Text helpers shared by every stage: folding (fold), words (tokens), scripts and languages (lang),
and the English→Chinese query dictionary (crosslingual). Pure functions; jieba loads on first use."""
