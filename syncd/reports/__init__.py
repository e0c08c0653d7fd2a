"""Reports for officials over the cells' merged documents (party count, meetings, tasks...).

``facts`` reduces one document to the small figures the reports need; the index keeps those per
document so a report never loads the cells' documents.
"""
