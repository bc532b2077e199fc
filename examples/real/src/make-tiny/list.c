#include <stdlib.h>
#include "tiny.h"
struct node *push(struct node *head, int key)
{
	struct node *n = malloc(sizeof *n);
	n->next = head;
	n->key = key;
	return n;
}
